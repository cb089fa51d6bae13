package main

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/rs/zerolog"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/dispatcher/fleet"
	"github.com/dingq/dingq/dispatcher/sandbox"
)

// sandboxServing is the message `dingq sandbox` logs, with the url, once it serves.
const sandboxServing = "sandbox serving; point DINGQ_DINGTALK_API_URL, DINGQ_DINGTALK_OAPI_URL and DINGQ_KDOCS_API_URL here"

// sandboxCmd serves the DingTalk stand-in until ctx ends.
func sandboxCmd(ctx context.Context, args []string, std stdio) error {
	cfg, listen, sc, err := parseSandbox(args, std)
	if err != nil {
		return err
	}
	log := newLogger(cfg, std.err)
	sc.Logger = log
	sb, err := sandbox.New(sc)
	if err != nil {
		return usageError{err}
	}
	srv, err := sandbox.Start(listen, sb)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	log.Info().Str("url", srv.URL()).Int("signing_robots", len(sc.RobotSecrets)).Msg(sandboxServing)
	<-ctx.Done()
	return srv.Close()
}

// parseSandbox reads the sandbox command's flags, variables and file: the logging settings, the
// address to serve on and the sandbox's configuration (without its logger).
func parseSandbox(args []string, std stdio) (config.Config, string, sandbox.Config, error) {
	cfg := config.Default()
	fs := newFlagSet("sandbox", std.err)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: dingq sandbox [flags]

Serve a local stand-in for DingTalk's card, cross-domain, robot and token APIs, as strict as
DingTalk, with failures to inject; point the DINGQ_*_URL settings of a worker or producer at it.

Example:
  dingq sandbox --sandbox-listen 127.0.0.1:8089 --sandbox-busy-rate 0.05

Flags:
`)
		fs.PrintDefaults()
	}
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
	var secrets config.RobotSecrets
	fs.Var(&secrets, config.RobotSecretsFlag, "a robot that signs, as `access_token=SECRET` (its webhook's access_token and "+
		"signing secret): its direct webhook then refuses a message without a valid timestamp and sign (errcode 310000), "+
		"and the kdocs relay a job without its secret as sk, as DingTalk does; repeat the flag or separate robots with ',' "+
		"(prefer the environment variable) (default: no robot signs)")
	if _, err := config.Parse(fs, args, std.getenv); err != nil {
		return cfg, "", sc, usageError{err}
	}
	if err := secrets.Check(); err != nil {
		return cfg, "", sc, usageError{err}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, "", sc, usageError{err}
	}
	sc.RobotSecrets = secrets.Map()
	return cfg, *listen, sc, nil
}

// inProcessSandbox is the configuration of the sandbox that `dingq serve --sandbox` runs: its
// robots that sign are the worker's own named robots, so that a signature the worker gets wrong
// is refused there as DingTalk would refuse it.
func inProcessSandbox(cfg config.Config, log zerolog.Logger) sandbox.Config {
	return sandbox.Config{
		Logger:       log.With().Str("component", "sandbox").Logger(),
		RobotSecrets: namedRobotSecrets(cfg),
	}
}

// namedRobotSecrets maps the access_token of each named robot's webhook
// (DINGQ_ROBOT_<NAME>_WEBHOOK) to its secret (DINGQ_ROBOT_<NAME>_SECRET), for the robots that
// have both. Two robots on one webhook with different secrets cannot both be right: the first by
// name wins, and the other's messages are refused, as DingTalk refuses them.
func namedRobotSecrets(cfg config.Config) map[string]string {
	var secrets map[string]string
	for _, name := range slices.Sorted(maps.Keys(cfg.Robots)) {
		r := cfg.Robots[name]
		tok := fleet.WebhookToken(r.Webhook)
		if tok == "" || r.Secret == "" {
			continue
		}
		if secrets == nil {
			secrets = map[string]string{}
		}
		if _, seen := secrets[tok]; !seen {
			secrets[tok] = r.Secret
		}
	}
	return secrets
}
