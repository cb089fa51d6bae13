package main

import (
	"context"
	"fmt"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/dispatcher/sandbox"
)

// sandboxCmd serves the DingTalk stand-in until ctx ends.
func sandboxCmd(ctx context.Context, args []string, io stdio) error {
	cfg := config.Default()
	fs := newFlagSet("sandbox", io.err)
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "trace, debug, info, warn or error")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "json or console")
	listen := fs.String("sandbox-listen", "127.0.0.1:8089", "host:port to serve on")
	var sc sandbox.Config
	fs.Float64Var(&sc.BusyRate, "sandbox-busy-rate", 0, "fraction (0..1) of sends answered with the API's busy error")
	fs.Float64Var(&sc.ThrottleRate, "sandbox-throttle-rate", 0, "fraction (0..1) of sends answered with the API's throttling error")
	fs.DurationVar(&sc.Latency, "sandbox-latency", 0, "delay before every send is answered")
	fs.StringVar(&sc.AppKey, "sandbox-app-key", "", "the only app key accepted (default: any)")
	fs.StringVar(&sc.AppSecret, "sandbox-app-secret", "", "the only app secret accepted (default: any)")
	fs.StringVar(&sc.KdocsToken, "sandbox-kdocs-token", "", "the only kdocs token accepted (default: any)")
	if _, err := config.Parse(fs, args, io.getenv); err != nil {
		return usageError{err}
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	log := newLogger(cfg, io.err)
	sc.Logger = log
	sb, err := sandbox.New(sc)
	if err != nil {
		return usageError{err}
	}
	srv, err := sandbox.Start(*listen, sb)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	log.Info().Str("url", srv.URL()).Msg("sandbox serving; point DINGQ_DINGTALK_API_URL, DINGQ_DINGTALK_OAPI_URL and DINGQ_KDOCS_API_URL here")
	<-ctx.Done()
	return srv.Close()
}
