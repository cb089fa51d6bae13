package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/cmd/internal/logbuf"
	"github.com/dingq/dingq/cmd/internal/natsconn"
	"github.com/dingq/dingq/console"
	"github.com/dingq/dingq/dispatcher/sandbox"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/health"
	"github.com/dingq/dingq/worker/metrics"
)

// serve runs a worker pool until ctx ends (SIGINT or SIGTERM), then stops it gracefully.
func serve(ctx context.Context, args []string, std stdio) error {
	cfg := config.Default()
	fs := newFlagSet("serve", std.err)
	cfg.RegisterServe(fs)
	demo := fs.Bool("demo", false, "with --sandbox: publish a few sample jobs at start, one retried and one dead-lettered")
	consoleAddr := fs.String("console", "", "also serve the operations console on this address, e.g. 127.0.0.1:8080 (see dingq console -h; DINGQ_CONSOLE_TOKEN applies)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: dingq serve [flags]

Run a worker: take jobs off JetStream and send them to DingTalk, retrying what DingTalk calls
transient and dead-lettering what it calls wrong. Without --nats-url it starts an embedded NATS.

Examples:
  dingq serve --sandbox --demo --console 127.0.0.1:8080 --log-format console
  DINGQ_NATS_URL=nats://nats-1:4222 DINGQ_DINGTALK_APP_KEY=... DINGQ_DINGTALK_APP_SECRET=... dingq serve

Flags:
`)
		fs.PrintDefaults()
	}
	if _, err := config.Parse(fs, args, std.getenv); err != nil {
		return usageError{err}
	}
	if err := cfg.ReadProfiles(fs, std.environment()); err != nil {
		return usageError{err}
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	if *demo && !cfg.Sandbox {
		return usageError{fmt.Errorf("--demo needs --sandbox (DINGQ_SANDBOX=true): it must not send sample jobs to DingTalk")}
	}
	consoleToken := std.getenv("DINGQ_CONSOLE_TOKEN")
	if *consoleAddr != "" {
		if err := console.CheckListen(*consoleAddr, consoleToken); err != nil {
			return usageError{fmt.Errorf("--console: %w", err)}
		}
	}
	// A line per job sent: written in batches, warnings and errors at once.
	logOut := logbuf.New(std.err, zerolog.WarnLevel, 0)
	defer logOut.Close()
	log := newLogger(cfg, logOut)

	var sb *sandbox.Sandbox
	if cfg.Sandbox {
		var stop func()
		var err error
		sb, stop, err = startSandbox(&cfg, log)
		if err != nil {
			return err
		}
		defer stop()
	}

	// The probes from the start: the process is alive while it waits for NATS.
	probes, err := health.Listen(cfg.HTTPAddr, cfg.Debug)
	if err != nil {
		return fmt.Errorf("listen on DINGQ_HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
	}
	defer probes.Close()

	nc, err := natsconn.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer nc.Stop()
	js, err := jetstream.New(nc.Conn)
	if err != nil {
		return err
	}
	validator, err := schema.NewValidator(schema.ValidatorConfig{})
	if err != nil {
		return err
	}
	m := metrics.New(js, cfg.Worker())
	st := newStatusRecorder(js, cfg, log)
	// The streams and buckets first: the sender shares the fleet's tokens and turns through them.
	res, err := worker.ProvisionWait(ctx, js, cfg.Worker(), log)
	if err != nil {
		return err
	}
	sender, err := newSender(cfg, log, res)
	if err != nil {
		return fmt.Errorf("build the sender: %w", err)
	}
	w, err := worker.New(js, cfg.Worker(), worker.Deps{
		Sender: m.WrapSender(sender), Resources: res,
		OnOutcome: func(o worker.Outcome) {
			m.Outcome(o)
			if st != nil {
				st.Observe(o)
			}
		},
		OnRepair:  m.Repair,
		Validator: validator, Logger: log})
	if err != nil {
		return usageError{err}
	}

	probes.Serve(nc.Conn, w.Ready, m.Handler())
	if *consoleAddr != "" {
		ln, err := net.Listen("tcp", *consoleAddr)
		if err != nil {
			return fmt.Errorf("listen on --console %s: %w", *consoleAddr, err)
		}
		stopConsole, err := serveConsole(ctx, ln, js, cfg, consoleToken, false, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopConsole()
	}

	if *demo {
		go runDemo(ctx, js, cfg, sb, log)
	}
	err = w.Run(ctx)
	// The outcomes of the last sends, and the acks and naks, before the connection closes. What
	// cannot be flushed without NATS is said once: jobs whose acks are lost come back after the ack
	// wait, and jobs whose outcomes are lost read pending.
	records := 0
	if st != nil {
		records = st.Stop(5 * time.Second)
	}
	flushed := nc.IsConnected() && nc.FlushTimeout(5*time.Second) == nil
	buffered, _ := nc.Buffered()
	switch {
	case !flushed && (records > 0 || buffered > 0):
		log.Warn().Int("status_records", records).Int("unflushed_bytes", max(buffered, 0)).
			Msg("stopped with status records and acks unflushed: NATS unreachable")
	case records > 0:
		log.Warn().Int("status_records", records).Msg("stopped with status records the status bucket did not confirm")
	}
	return err
}

// startSandbox runs the built-in DingTalk stand-in on a loopback port and points every base URL
// and missing credential at it.
func startSandbox(cfg *config.Config, log zerolog.Logger) (*sandbox.Sandbox, func(), error) {
	sb, err := sandbox.New(inProcessSandbox(*cfg, log))
	if err != nil {
		return nil, nil, err
	}
	srv, err := sandbox.Start("127.0.0.1:0", sb)
	if err != nil {
		return nil, nil, fmt.Errorf("start sandbox: %w", err)
	}
	cfg.APIURL, cfg.OAPIURL, cfg.KdocsURL = srv.URL(), srv.URL(), srv.URL()
	if cfg.AppKey == "" {
		cfg.AppKey, cfg.AppSecret = "sandbox-app-key", "sandbox-app-secret"
	}
	if cfg.KdocsToken == "" {
		cfg.KdocsToken = "sandbox-kdocs-token"
	}
	log.Info().Str("url", srv.URL()).Msg("sandbox started: sending to the built-in DingTalk stand-in, not to DingTalk")
	return sb, func() { _ = srv.Close() }, nil
}
