package main

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/dingq/dingq/dispatcher/sandbox"
)

// sandboxServer is the DingTalk sandbox of one run, served in the harness's process on a free
// loopback port behind a tracker. Each run gets a fresh one, so counts and tokens start at zero.
type sandboxServer struct {
	sb  *sandbox.Sandbox
	tr  *tracker
	srv *http.Server
	url string
	err chan error
}

// startSandbox serves a sandbox configured by cfg; the jobs of w marked to be rejected are
// answered with the kind's rejection.
func startSandbox(cfg sandbox.Config, w workload, settles func(n int, sent bool) bool) (*sandboxServer, error) {
	sb, err := sandbox.New(cfg)
	if err != nil {
		return nil, err
	}
	if w.rejectEvery > 0 {
		if err := sb.AddFault(sandbox.Fault{Contains: rejectMark, Preset: sandbox.PresetReject}); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sandboxServer{sb: sb, tr: newTracker(sb, w.n, settles), url: "http://" + ln.Addr().String(), err: make(chan error, 1)}
	s.srv = &http.Server{Handler: s.tr, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.err <- err
		}
		close(s.err)
	}()
	return s, nil
}

// close stops serving at once: by then the run's workers have stopped.
func (s *sandboxServer) close() error {
	err := s.srv.Close()
	return errors.Join(err, <-s.err)
}
