// Package embedded runs a NATS server with JetStream inside the dingq process: the default when no
// NATS URL is configured, and the real server every test runs against.
package embedded

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"
)

// Config describes an embedded server.
type Config struct {
	// Listen is host:port for client connections, so producers on the machine can publish.
	// Port 0 picks a free port. Default "127.0.0.1:4222".
	Listen string
	// StoreDir holds the JetStream file store. Required.
	StoreDir string
	// Logger receives the server's notices, warnings and errors. Default: discard.
	Logger zerolog.Logger
	// MaxPayload is the largest message the server accepts. Default: the server's, 1 MB.
	MaxPayload int32
	// ReadyTimeout bounds the wait for the server to accept connections. Default 10 s.
	ReadyTimeout time.Duration
}

// Server is a running embedded NATS server.
type Server struct {
	*server.Server
}

// Start starts a server with JetStream and waits until it accepts connections.
func Start(cfg Config) (*Server, error) {
	if cfg.StoreDir == "" {
		return nil, errors.New("embedded nats: a store directory is required")
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:4222"
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 10 * time.Second
	}
	host, portText, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: listen address %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("embedded nats: listen address %q: bad port", cfg.Listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	} else if err := portFree(cfg.Listen); err != nil {
		return nil, err
	}
	opts := &server.Options{
		ServerName: "dingq-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		NoSigs:     true,
		MaxPayload: cfg.MaxPayload,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	s.SetLoggerV2(logger{cfg.Logger}, false, false, false)
	s.Start()
	if !s.ReadyForConnections(cfg.ReadyTimeout) {
		s.Shutdown()
		return nil, fmt.Errorf("embedded nats: not ready within %v (is %s already in use?)", cfg.ReadyTimeout, cfg.Listen)
	}
	return &Server{s}, nil
}

// portFree fails at once, naming the address, when listen cannot be bound: the server itself
// would only log it and never become ready, and the caller would wait out ReadyTimeout. Another
// process may take the port between this check and the server's start; that rare case still ends
// in the timeout's error.
func portFree(listen string) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("embedded nats: cannot listen on %s (another dingq serve or NATS server?): %w", listen, err)
	}
	return ln.Close()
}

// Shutdown stops the server and waits until it has stopped.
func (s *Server) Shutdown() {
	s.Server.Shutdown()
	s.WaitForShutdown()
}

// logger bridges the server's printf-style logging to zerolog.
type logger struct{ l zerolog.Logger }

func (l logger) Noticef(format string, v ...any) { l.event(l.l.Debug(), format, v) }
func (l logger) Warnf(format string, v ...any)   { l.event(l.l.Warn(), format, v) }
func (l logger) Fatalf(format string, v ...any)  { l.event(l.l.Error(), format, v) }
func (l logger) Errorf(format string, v ...any)  { l.event(l.l.Error(), format, v) }
func (l logger) Debugf(format string, v ...any)  { l.event(l.l.Debug(), format, v) }
func (l logger) Tracef(format string, v ...any)  { l.event(l.l.Trace(), format, v) }

func (logger) event(e *zerolog.Event, format string, v []any) {
	e.Str("component", "nats-server").Msg(fmt.Sprintf(format, v...))
}
