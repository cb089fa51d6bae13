package sandbox

import (
	"math"
	"slices"
	"testing"

	"github.com/dingq/dingq/schema"
)

// outcomes sends n cards one after another and returns how each was answered.
func outcomes(t *testing.T, cfg Config, n int) []int {
	t.Helper()
	e := newEnv(t, cfg)
	tok := e.appToken()
	got := make([]int, n)
	for i := range got {
		got[i] = e.send(schema.KindCard, tok, cardBody).status
	}
	return got
}

func TestRatesReproducible(t *testing.T) {
	cfg := Config{BusyRate: 0.3, ThrottleRate: 0.3, Seed: 42}
	a, b := outcomes(t, cfg, 60), outcomes(t, cfg, 60)
	if !slices.Equal(a, b) {
		t.Fatalf("the same seed gave\n%v\n%v", a, b)
	}
	for _, status := range []int{200, 403, 500} {
		if !slices.Contains(a, status) {
			t.Errorf("no %d among %v", status, a)
		}
	}
	cfg.Seed = 43
	if c := outcomes(t, cfg, 60); slices.Equal(a, c) {
		t.Errorf("seeds 42 and 43 gave the same outcomes %v", a)
	}
}

func TestRateOneAlwaysFails(t *testing.T) {
	for _, tc := range []struct {
		cfg     Config
		status  int
		outcome Outcome
	}{
		{Config{BusyRate: 1}, 500, OutcomeBusy},
		{Config{ThrottleRate: 1}, 403, OutcomeThrottled},
	} {
		e := newEnv(t, tc.cfg)
		tok := e.appToken()
		for range 20 {
			if r := e.send(schema.KindCard, tok, cardBody); r.status != tc.status {
				t.Fatalf("%+v: %d %s, want %d", tc.cfg, r.status, r.raw, tc.status)
			}
		}
		if n := e.sb.Stats().Outcomes[schema.KindCard][tc.outcome]; n != 20 || len(e.sb.Deliveries()) != 0 {
			t.Errorf("%+v: %d %s outcomes and %d deliveries, want 20 and 0", tc.cfg, n, tc.outcome, len(e.sb.Deliveries()))
		}
	}
}

func TestRatesRenderPerKind(t *testing.T) {
	e := newEnv(t, Config{ThrottleRate: 1})
	if r := e.send(schema.KindCrossDomain, e.appToken(), wrap(crossDomainModel)); r.json["sub_code"] != "90018" {
		t.Errorf("crossdomain throttled: %s", r.raw)
	}
	if r := e.send(schema.KindRobot, "k", robotBody); r.status != 429 {
		t.Errorf("robot throttled: %d %s", r.status, r.raw)
	}
}

func TestConfigRefused(t *testing.T) {
	for name, cfg := range map[string]Config{
		"busy above 1":     {BusyRate: 1.5},
		"throttle below 0": {ThrottleRate: -0.1},
		"NaN":              {BusyRate: math.NaN()},
		"sum above 1":      {BusyRate: 0.6, ThrottleRate: 0.6},
		"negative latency": {Latency: -1},
		"negative TTL":     {TokenTTL: -1},
		"negative max":     {MaxRecorded: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New(%+v) = nil error", name, cfg)
		}
	}
}
