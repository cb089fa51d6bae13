package main

import (
	"context"
	"errors"
	"expvar"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// health serves /healthz (the process answers), /readyz (connected to NATS, and the worker
// ready: consuming, with every stream, bucket and consumer it uses present and room for dead
// letters) and /metrics.
type health struct {
	nc      *nats.Conn
	metrics http.Handler // nil: no /metrics
	// ready is the worker's readiness ([worker.Worker.Ready]); it never blocks on NATS.
	ready func() error
}

func (h *health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		_, _ = w.Write([]byte("ok\n"))
	case "/readyz":
		switch {
		case !h.nc.IsConnected():
			http.Error(w, "not ready: disconnected from NATS", http.StatusServiceUnavailable)
		case h.ready() != nil:
			http.Error(w, "not ready: "+h.ready().Error(), http.StatusServiceUnavailable)
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
