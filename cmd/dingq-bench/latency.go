package main

import (
	"math"
	"slices"
	"time"
)

// epoch is the harness's time origin: every recorded instant is nanoseconds since it, on the
// monotonic clock, and 0 means "never".
var epoch = time.Now()

// now returns the current instant as nanoseconds since epoch, at least 1.
func now() int64 { return max(int64(time.Since(epoch)), 1) }

// percentiles returns the nearest-rank percentiles qs (each in 0..1) of ds, which it sorts.
// With no samples every percentile is 0.
func percentiles(ds []time.Duration, qs ...float64) []time.Duration {
	out := make([]time.Duration, len(qs))
	if len(ds) == 0 {
		return out
	}
	slices.Sort(ds)
	for i, q := range qs {
		rank := int(math.Ceil(q * float64(len(ds))))
		out[i] = ds[min(max(rank, 1), len(ds))-1]
	}
	return out
}
