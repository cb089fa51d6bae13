package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/cmd/internal/natsconn"
	"github.com/dingq/dingq/console"
	"github.com/dingq/dingq/dispatcher/fleet"
	"github.com/dingq/dingq/schema"
)

const consoleUsage = `Usage: dingq console [flags]

Serve the operations console, a web UI: the queue and the workers, the dead letters (browse,
show, replay, purge), a job's status, rate limits and tokens, and outcomes as they happen.
On an address other than loopback it asks for the token in DINGQ_CONSOLE_TOKEN (as a bearer
token or through its login page), and refuses to start without one.

Examples:
  dingq console
  DINGQ_CONSOLE_TOKEN=... dingq console --listen 0.0.0.0:8080 --read-only

Flags:
`

// consoleCmd is `dingq console`: the console, until ctx ends.
func consoleCmd(ctx context.Context, args []string, std stdio) error {
	cfg := config.Default()
	fs := newFlagSet("console", std.err)
	cfg.Register(fs)
	listen := fs.String("listen", "127.0.0.1:8080", "address to serve the console on (DINGQ_CONSOLE_LISTEN)")
	readOnly := fs.Bool("read-only", false, "hide and refuse every action: replay and purge (DINGQ_CONSOLE_READ_ONLY)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), consoleUsage)
		fs.PrintDefaults()
	}
	getenv := func(k string) string {
		switch k { // the console's own settings are DINGQ_CONSOLE_*
		case "DINGQ_LISTEN", "DINGQ_READ_ONLY":
			return std.getenv("DINGQ_CONSOLE_" + k[len("DINGQ_"):])
		}
		return std.getenv(k)
	}
	if _, err := config.Parse(fs, args, getenv); err != nil {
		return usageError{err}
	}
	if err := cfg.ReadProfiles(fs, std.environment()); err != nil {
		return usageError{err}
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	token := std.getenv("DINGQ_CONSOLE_TOKEN")
	if err := console.CheckListen(*listen, token); err != nil {
		return usageError{err}
	}
	log := newLogger(cfg, std.err)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on DINGQ_CONSOLE_LISTEN %s: %w", *listen, err)
	}
	defer ln.Close()

	nc, js, err := natsconn.Client(cfg, nats.MaxReconnects(-1))
	if err != nil {
		return err
	}
	defer nc.Close()
	stop, err := serveConsole(ctx, ln, js, cfg, token, *readOnly, log)
	if err != nil {
		return err
	}
	<-ctx.Done()
	stop()
	return nil
}

// serveConsole serves the console on ln, over js, until stop is called.
func serveConsole(ctx context.Context, ln net.Listener, js jetstream.JetStream, cfg config.Config, token string, readOnly bool, log zerolog.Logger) (stop func(), err error) {
	c, err := console.New(ctx, console.Config{JS: js, Names: schema.NewNames(cfg.SubjectPrefix), Apps: cfg.Worker().Apps,
		Labels: fleet.Labels(fleetConfig(cfg)), Token: token, ReadOnly: readOnly, Logger: log.With().Str("component", "console").Logger()})
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: c, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info().Str("url", "http://"+ln.Addr().String()).Bool("read_only", readOnly).Bool("token", token != "").Msg("console serving")
	return func() {
		c.Close() // ends the live streams and the runs in progress
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn().Err(err).Msg("console stopped")
		}
	}, nil
}
