package main

import (
	"context"
	"errors"
	"expvar"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
)

// health serves /healthz (the process answers), /readyz (connected to NATS, consuming, and the
// streams and consumer present) and /metrics.
type health struct {
	nc      *nats.Conn
	running atomic.Bool
	metrics http.Handler // nil: no /metrics
	// resources checks that the streams and the consumer exist; nil skips the check.
	resources func(ctx context.Context) error

	mu      sync.Mutex
	checked time.Time // when resources last answered
	lastErr error
}

// resourcesTTL is how long a check of the streams and consumer stands: probes come every few
// seconds from each prober, and JetStream need not answer each.
const resourcesTTL = 2 * time.Second

// resourcesErr returns the outcome of the latest check of the streams and consumer, checking
// again when it is older than resourcesTTL.
func (h *health) resourcesErr(ctx context.Context) error {
	if h.resources == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if time.Since(h.checked) > resourcesTTL {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		h.lastErr = h.resources(ctx)
		cancel()
		h.checked = time.Now()
	}
	return h.lastErr
}

func (h *health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		_, _ = w.Write([]byte("ok\n"))
	case "/readyz":
		switch {
		case !h.nc.IsConnected():
			http.Error(w, "not ready: disconnected from NATS", http.StatusServiceUnavailable)
		case !h.running.Load():
			http.Error(w, "not ready: worker not consuming", http.StatusServiceUnavailable)
		case h.resourcesErr(r.Context()) != nil:
			http.Error(w, "not ready: "+h.resourcesErr(r.Context()).Error(), http.StatusServiceUnavailable)
		default:
			_, _ = w.Write([]byte("ok\n"))
		}
	case "/metrics":
		if h.metrics == nil {
			http.NotFound(w, r)
			return
		}
		h.metrics.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

// withDebug adds Go's profiling (/debug/pprof) and runtime variables (/debug/vars, including
// memstats) beside h.
func withDebug(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/debug/vars", expvar.Handler())
	return mux
}

// serveHTTP listens on addr and serves h until ctx ends.
func serveHTTP(ctx context.Context, addr string, h http.Handler) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener failed; /healthz then stops answering, which is the signal
		}
	}()
	return func() {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
		<-done
	}, nil
}

// checkResources returns a check that the job and dead-letter streams and the shared consumer
// exist: a worker whose consumer was deleted under it pulls nothing, and should be restarted.
func checkResources(js jetstream.JetStream, names schema.Names) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		for _, stream := range []string{names.JobStream(), names.DeadStream()} {
			if _, err := js.Stream(ctx, stream); err != nil {
				return fmt.Errorf("stream %s: %w", stream, err)
			}
		}
		if _, err := js.Consumer(ctx, names.JobStream(), names.Consumer()); err != nil {
			return fmt.Errorf("consumer %s: %w", names.Consumer(), err)
		}
		return nil
	}
}

// swappable serves whichever handler was set last: the HTTP server starts before the worker is
// wired, and takes the full handler once it is.
type swappable struct{ h atomic.Value }

func (s *swappable) set(h http.Handler) { s.h.Store(&h) }

func (s *swappable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load().(*http.Handler)).ServeHTTP(w, r)
}

// starting answers while the process connects to NATS: alive, not ready.
type starting struct{}

func (starting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		_, _ = w.Write([]byte("ok\n"))
	case "/readyz":
		http.Error(w, "not ready: connecting to NATS", http.StatusServiceUnavailable)
	default:
		http.NotFound(w, r)
	}
}
