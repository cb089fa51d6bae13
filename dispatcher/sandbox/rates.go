package sandbox

import (
	"math/rand/v2"
	"sync"
)

// dice draws the random failures of [Config.BusyRate] and [Config.ThrottleRate]: one draw per
// send request, busy below BusyRate, throttled below BusyRate+ThrottleRate. With both rates zero
// it draws nothing, so it costs nothing. Safe for concurrent use.
type dice struct {
	busy, throttle float64

	mu  sync.Mutex
	rng *rand.Rand
}

func newDice(busy, throttle float64, seed uint64) *dice {
	return &dice{busy: busy, throttle: throttle, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// roll returns [OutcomeBusy], [OutcomeThrottled], or "" for no failure.
func (d *dice) roll() Outcome {
	if d.busy == 0 && d.throttle == 0 {
		return ""
	}
	d.mu.Lock()
	x := d.rng.Float64()
	d.mu.Unlock()
	switch {
	case x < d.busy:
		return OutcomeBusy
	case x < d.busy+d.throttle:
		return OutcomeThrottled
	}
	return ""
}
