package worker

import (
	"time"

	"github.com/cenkalti/backoff/v4"
)

// retryDelay returns how long to wait after failed attempt n (1-based): BackoffInitial doubled
// n-1 times, ±25 % jitter, capped at BackoffMax. It is derived from the attempt number alone
// (a fresh backoff advanced n times), never from state kept between jobs, so any worker computes
// the same schedule for a job that JetStream redelivers to it.
//
// A jitter of 25 % with a multiplier of 2 keeps the schedule strictly growing until the cap.
func (c Config) retryDelay(n int) time.Duration {
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(c.BackoffInitial),
		backoff.WithMultiplier(2),
		backoff.WithRandomizationFactor(0.25),
		backoff.WithMaxInterval(c.BackoffMax),
		backoff.WithMaxElapsedTime(0),
	)
	d := c.BackoffInitial
	for range max(n, 1) {
		d = b.NextBackOff()
	}
	return min(d, c.BackoffMax)
}
