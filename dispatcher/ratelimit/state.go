package ratelimit

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// state is one target's shared schedule, as stored in the bucket: "<next> <penalty>", each in
// Unix nanoseconds (0 for none).
type state struct {
	next    time.Time // the fleet's next free turn
	penalty time.Time // no send before this
}

// atLeast returns s moved no earlier than seen, a state this process read or wrote before. The
// shared schedule only moves forward; a bucket deleted and created again (or a value
// overwritten) would otherwise start it over at now, letting a burst over the limit through.
func (s state) atLeast(seen state) state {
	s.next = later(s.next, seen.next)
	s.penalty = later(s.penalty, seen.penalty)
	return s
}

func (s state) encode() []byte {
	return []byte(strconv.FormatInt(unixNano(s.next), 10) + " " + strconv.FormatInt(unixNano(s.penalty), 10))
}

func decodeState(b []byte) (state, error) {
	a, p, ok := strings.Cut(string(b), " ")
	next, err1 := strconv.ParseInt(a, 10, 64)
	pen, err2 := strconv.ParseInt(p, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return state{}, fmt.Errorf("ratelimit: unreadable state %q", b)
	}
	return state{next: fromUnixNano(next), penalty: fromUnixNano(pen)}, nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
