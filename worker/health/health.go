// Package health serves a worker's probes over HTTP: /healthz (the process answers), /readyz
// (connected to NATS, and the worker ready: consuming, with every stream, bucket and consumer it
// uses present and room for dead letters), /metrics, and optionally Go's profiling.
//
// The server starts before the worker exists: a process waiting for NATS is alive, and a liveness
// probe must not restart it for that. Until [Server.Serve] hands it the worker, /readyz answers
// 503 "connecting to NATS".
package health

import (
	"context"
	"expvar"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// Server is the probes' HTTP server.
type Server struct {
	addr  string
	srv   *http.Server
	debug bool
	h     atomic.Pointer[http.Handler]
	done  chan struct{}
}

// Listen listens on addr and serves the probes, answering not ready until [Server.Serve]. With
// debug, it also serves Go's profiling (/debug/pprof) and runtime variables (/debug/vars).
func Listen(addr string, debug bool) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{addr: ln.Addr().String(), debug: debug, done: make(chan struct{})}
	s.set(http.HandlerFunc(starting))
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*s.h.Load()).ServeHTTP(w, r)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(s.done)
		// A failed listener ends Serve; /healthz then stops answering, which is the signal.
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Serve answers the probes for a worker: ready while nc is connected and ready returns nil (it
// must not block on NATS: worker.Worker.Ready does not). metrics serves /metrics; nil for none.
func (s *Server) Serve(nc *nats.Conn, ready func() error, metrics http.Handler) {
	var h http.Handler = &probes{nc: nc, ready: ready, metrics: metrics}
	if s.debug {
		h = withDebug(h)
	}
	s.set(h)
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.addr }

// Close stops the server, waiting up to 2 s for requests in progress.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	<-s.done
}

func (s *Server) set(h http.Handler) { s.h.Store(&h) }

// probes answers for a running worker.
type probes struct {
	nc      *nats.Conn
	ready   func() error
	metrics http.Handler
}

func (p *probes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		_, _ = w.Write([]byte("ok\n"))
	case "/readyz":
		if !p.nc.IsConnected() {
			http.Error(w, "not ready: disconnected from NATS", http.StatusServiceUnavailable)
		} else if err := p.ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
		} else {
			_, _ = w.Write([]byte("ok\n"))
		}
	case "/metrics":
		if p.metrics == nil {
			http.NotFound(w, r)
			return
		}
		p.metrics.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

// starting answers while the process connects to NATS: alive, not ready.
func starting(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		_, _ = w.Write([]byte("ok\n"))
	case "/readyz":
		http.Error(w, "not ready: connecting to NATS", http.StatusServiceUnavailable)
	default:
		http.NotFound(w, r)
	}
}

// withDebug adds Go's profiling and runtime variables (memstats included) beside h.
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
