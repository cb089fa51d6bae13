package sandbox

import (
	"sync"
	"time"
)

// qpsLimit plays DingTalk's per-app QPS limit ([Config.APIRate]): per API (request path), at most
// n requests in any window of one second; the request that would make n+1 is refused and not
// counted. Safe for concurrent use.
type qpsLimit struct {
	n int

	mu     sync.Mutex
	recent map[string][]time.Time // per path, the accepted requests of the last second, oldest first
}

func newQPSLimit(n int) *qpsLimit {
	return &qpsLimit{n: n, recent: map[string][]time.Time{}}
}

// allow reports whether a request to path at now is within the limit, and counts it if so.
func (q *qpsLimit) allow(path string, now time.Time) bool {
	if q == nil || q.n <= 0 {
		return true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	r := q.recent[path]
	i := 0
	for i < len(r) && now.Sub(r[i]) >= time.Second {
		i++
	}
	r = r[i:]
	if len(r) >= q.n {
		q.recent[path] = r
		return false
	}
	q.recent[path] = append(r, now)
	return true
}
