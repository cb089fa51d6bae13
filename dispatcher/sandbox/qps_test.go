package sandbox

import (
	"testing"
	"time"
)

// The limit is per API and per sliding second: the (n+1)th request inside any second is refused
// and not counted, and the window frees up one request at a time.
func TestQPSLimitSlidingSecond(t *testing.T) {
	q := newQPSLimit(3)
	t0 := time.Unix(1000, 0)
	for i, tt := range []struct {
		path string
		at   time.Duration
		want bool
	}{
		{"/a", 0, true},
		{"/a", 300 * time.Millisecond, true},
		{"/a", 600 * time.Millisecond, true},
		{"/a", 900 * time.Millisecond, false}, // a 4th in [0, 1s)
		{"/b", 900 * time.Millisecond, true},  // another API has its own count
		{"/a", 999 * time.Millisecond, false},
		{"/a", 1000 * time.Millisecond, true},  // the first left the window
		{"/a", 1100 * time.Millisecond, false}, // 300, 600 and 1000 ms are still in it
		{"/a", 1300 * time.Millisecond, true},
	} {
		if got := q.allow(tt.path, t0.Add(tt.at)); got != tt.want {
			t.Errorf("request %d (%s at %v): allowed %v, want %v", i, tt.path, tt.at, got, tt.want)
		}
	}
	var off *qpsLimit
	if !off.allow("/a", t0) || !newQPSLimit(0).allow("/a", t0) {
		t.Error("no limit refused a request")
	}
}
