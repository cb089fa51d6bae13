package sandbox

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// shutdownTimeout is how long [Server.Close] lets requests in flight finish before it cuts them.
const shutdownTimeout = 2 * time.Second

// Server serves a [Sandbox] on a listening address. Make one with [Start].
type Server struct {
	srv    *http.Server
	ln     net.Listener
	cancel context.CancelFunc // ends every request's context
	done   chan struct{}      // closed when Serve has returned
	err    error              // Serve's error, other than http.ErrServerClosed; read after done

	closeOnce sync.Once
	closeErr  error
}

// Start listens on addr (such as "127.0.0.1:0" for any free port) and serves sb in a
// goroutine until [Server.Close]. It returns an error when it cannot listen.
func Start(addr string, sb *Sandbox) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	base, cancel := context.WithCancel(context.Background())
	s := &Server{
		srv: &http.Server{
			Handler:           sb,
			ReadHeaderTimeout: 10 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return base },
		},
		ln:     ln,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.err = err
		}
	}()
	return s, nil
}

// URL is the server's base URL, e.g. "http://127.0.0.1:38411": the api, oapi and kdocs base alike.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops the server: it stops accepting, drops at once (unanswered) the requests that are
// waiting out a latency or a fault's delay, lets the others finish for up to 2 s, then cuts what
// is left. It returns once the serving goroutine has ended. Safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.cancel() // the sandbox's only long work is its artificial waits: end them first
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		err := s.srv.Shutdown(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			err = s.srv.Close() // cutting what is left is what Close promises, not a failure
		}
		<-s.done
		s.closeErr = errors.Join(err, s.err)
	})
	return s.closeErr
}
