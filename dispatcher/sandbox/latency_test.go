package sandbox

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dingq/dingq/schema"
)

func TestLatencyDelaysAnswers(t *testing.T) {
	e := newEnv(t, Config{Latency: 50 * time.Millisecond})
	tok := e.appToken() // token fetches are never delayed
	start := time.Now()
	if r := e.send(schema.KindCard, tok, cardBody); r.status != 200 {
		t.Fatalf("send: %d %s", r.status, r.raw)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("answered after %v, want at least the 50ms latency", d)
	}
}

// TestWaitsHonourCancellation: a client that gives up ends the sandbox's wait at once; were it
// not so, closing the test server (which waits for its handlers) would block for the hour.
func TestWaitsHonourCancellation(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg   Config
		fault *Fault
	}{
		"latency":     {cfg: Config{Latency: time.Hour}},
		"fault delay": {fault: &Fault{Preset: PresetBusy, Delay: time.Hour}},
	} {
		t.Run(name, func(t *testing.T) {
			sb, err := New(tc.cfg)
			must(t, err)
			if tc.fault != nil {
				must(t, sb.AddFault(*tc.fault))
			}
			srv := httptest.NewServer(sb)
			e := &env{t: t, sb: sb, srv: srv, client: srv.Client()}
			tok := e.appToken()

			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			_, err = e.client.Do(e.sendRequest(schema.KindCard, tok, cardBody).WithContext(ctx))
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("send: %v, want the client's deadline", err)
			}

			closed := make(chan struct{})
			go func() { srv.Close(); close(closed) }()
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				t.Fatal("the handler still waits after its client gave up")
			}
			st := sb.Stats()
			if st.Outcomes[schema.KindCard][OutcomeCanceled] != 1 || st.Deliveries[schema.KindCard] != 0 {
				t.Errorf("Stats = %+v, want one canceled send and no delivery", st)
			}
		})
	}
}
