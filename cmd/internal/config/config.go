// Package config reads dingq's configuration: every setting is a flag of the command, a DINGQ_*
// environment variable (the flag --nats-url is DINGQ_NATS_URL) and a key of the YAML file that
// --config names (nats-url: ...). A flag given on the command line wins over the environment, the
// environment over the file, and the file over the default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/dingq/dingq/dispatcher/ratelimit"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
)

// Config is every setting of dingq. Field comments name the flag; the variable is DINGQ_ and the
// flag in upper case with '-' as '_'; the file's key is the flag. Apps and Robots have no flags:
// [Config.ReadProfiles] reads them from the file's sections and the environment. Printing a
// Config, or encoding it as JSON, hides every secret.
type Config struct {
	File string // --config: the YAML file of settings; see file.go

	NATSURL       string // --nats-url: empty starts an embedded server
	NATSListen    string // --nats-listen: the embedded server's address
	DataDir       string // --data-dir: the embedded server's JetStream store
	SubjectPrefix string // --subject-prefix

	// Authentication and TLS toward DINGQ_NATS_URL (or a running `dingq serve`); see nats.go.
	NATSUser     string // --nats-user, with --nats-password
	NATSPassword string // --nats-password
	NATSToken    string // --nats-token
	NATSNkeySeed string // --nats-nkey-seed: path of an NKey seed file
	NATSCreds    string // --nats-creds: path of a .creds file (user JWT and NKey seed)
	NATSTLSCA    string // --nats-tls-ca: path of the CA bundle that verifies the servers
	NATSTLSCert  string // --nats-tls-cert: path of the client certificate, with --nats-tls-key
	NATSTLSKey   string // --nats-tls-key: path of the client certificate's private key

	APIURL     string // --dingtalk-api-url
	OAPIURL    string // --dingtalk-oapi-url
	KdocsURL   string // --kdocs-api-url
	AppKey     string // --dingtalk-app-key: the default app profile, with AppSecret and KdocsToken
	AppSecret  string // --dingtalk-app-secret
	KdocsToken string // --kdocs-access-token

	// Apps are the named app profiles by lower-case name (DINGQ_APP_<NAME>_*); see profiles.go.
	Apps map[string]App
	// Robots are the named group robots by lower-case name (DINGQ_ROBOT_<NAME>_*).
	Robots map[string]Robot

	// Limits of the whole fleet; see limits.go.
	RateAPI      ratelimit.Rate // --rate-api: per app and API; default 20/1s
	RateRobot    ratelimit.Rate // --rate-robot: per group robot; default 20/1m
	RobotPenalty time.Duration  // --robot-penalty: hold of a robot DingTalk blocked; default 10m
	RobotVia     string         // --robot-via: auto (default), relay or direct; see [Config.RobotPath]

	Concurrency     int           // --concurrency
	MaxAttempts     int           // --max-attempts
	BackoffInitial  time.Duration // --backoff-initial
	BackoffMax      time.Duration // --backoff-max
	AckWait         time.Duration // --ack-wait
	HTTPTimeout     time.Duration // --http-timeout
	ShutdownTimeout time.Duration // --shutdown-timeout
	DuplicateWindow time.Duration // --duplicate-window
	SentTTL         time.Duration // --sent-ttl
	Replicas        int           // --replicas: of every stream and bucket
	JobsMaxBytes    int64         // --jobs-max-bytes: of each app's job stream
	DeadMaxBytes    int64         // --dead-max-bytes: of the dead-letter stream

	HTTPAddr  string // --http-addr
	LogLevel  string // --log-level
	LogFormat string // --log-format
	Sandbox   bool   // --sandbox
	Debug     bool   // --debug-endpoints: /debug/pprof and /debug/vars on HTTPAddr
	Status    string // --status: "on" (events and the DINGQ_STATUS bucket) or "off"

	file fileSettings // what [Parse] read from File besides flags; zero without a file
}

// Default returns the documented defaults.
func Default() Config {
	return Config{
		NATSListen:      "127.0.0.1:4222",
		DataDir:         "./data",
		SubjectPrefix:   schema.DefaultPrefix,
		APIURL:          "https://api.dingtalk.com",
		OAPIURL:         "https://oapi.dingtalk.com",
		KdocsURL:        "https://developer.kdocs.cn",
		RateAPI:         ratelimit.Rate{N: 20, Per: time.Second}, // DingTalk's own limits
		RateRobot:       ratelimit.Rate{N: 20, Per: time.Minute},
		RobotPenalty:    10 * time.Minute, // how long DingTalk blocks a robot over its limit
		RobotVia:        RobotViaAuto,
		Status:          "on",
		Concurrency:     worker.DefaultConcurrency,
		MaxAttempts:     worker.DefaultMaxAttempts,
		BackoffInitial:  worker.DefaultBackoffInitial,
		BackoffMax:      worker.DefaultBackoffMax,
		AckWait:         worker.DefaultAckWait,
		HTTPTimeout:     10 * time.Second,
		ShutdownTimeout: worker.DefaultShutdownTimeout,
		DuplicateWindow: worker.DefaultDuplicateWindow,
		SentTTL:         worker.DefaultSentTTL,
		Replicas:        1,
		JobsMaxBytes:    worker.DefaultJobStreamMaxBytes,
		DeadMaxBytes:    worker.DefaultDeadStreamMaxBytes,
		HTTPAddr:        "127.0.0.1:9090",
		LogLevel:        "info",
		LogFormat:       "json",
	}
}

// Register binds the connection settings every command shares to fs, and --config.
func (c *Config) Register(fs *flag.FlagSet) {
	fs.Var(fileFlag{path: &c.File, into: c}, fileFlagName, fileFlagUsage)
	fs.StringVar(&c.NATSURL, "nats-url", c.NATSURL, "NATS server URL(s), comma-separated; empty: serve starts an embedded server, other commands connect to --nats-listen")
	fs.StringVar(&c.NATSListen, "nats-listen", c.NATSListen, "host:port of the embedded NATS server")
	fs.StringVar(&c.SubjectPrefix, "subject-prefix", c.SubjectPrefix, "prefix of every subject; stream names use it in upper case")
	fs.StringVar(&c.NATSUser, "nats-user", c.NATSUser, "NATS user name, with --nats-password")
	fs.StringVar(&c.NATSPassword, "nats-password", c.NATSPassword, "NATS password (prefer the environment variable)")
	fs.StringVar(&c.NATSToken, "nats-token", c.NATSToken, "NATS authentication token (prefer the environment variable)")
	fs.StringVar(&c.NATSNkeySeed, "nats-nkey-seed", c.NATSNkeySeed, "path of a NATS NKey seed file (a user seed, SU...)")
	fs.StringVar(&c.NATSCreds, "nats-creds", c.NATSCreds, "path of a NATS .creds file: a user JWT and its NKey seed")
	fs.StringVar(&c.NATSTLSCA, "nats-tls-ca", c.NATSTLSCA, "path of the PEM CA bundle that verifies the NATS servers (default: the system's)")
	fs.StringVar(&c.NATSTLSCert, "nats-tls-cert", c.NATSTLSCert, "path of a PEM client certificate for NATS, with --nats-tls-key")
	fs.StringVar(&c.NATSTLSKey, "nats-tls-key", c.NATSTLSKey, "path of the client certificate's PEM private key")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "trace, debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "json or console")
}

// RegisterServe binds the settings of `dingq serve` to fs, beside those of [Config.Register].
func (c *Config) RegisterServe(fs *flag.FlagSet) {
	c.Register(fs)
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "the embedded NATS server's JetStream store")
	fs.StringVar(&c.APIURL, "dingtalk-api-url", c.APIURL, "new-style DingTalk API base URL")
	fs.StringVar(&c.OAPIURL, "dingtalk-oapi-url", c.OAPIURL, "old-style DingTalk API base URL")
	fs.StringVar(&c.KdocsURL, "kdocs-api-url", c.KdocsURL, "kdocs relay base URL")
	fs.StringVar(&c.AppKey, "dingtalk-app-key", c.AppKey, "DingTalk app key of the default profile; a job published to <prefix>.send.<kind>.<app> uses the named app <app>, "+
		"set in the --config file's apps: section or as DINGQ_APP_<NAME>_KEY, DINGQ_APP_<NAME>_SECRET and DINGQ_APP_<NAME>_KDOCS_TOKEN")
	fs.StringVar(&c.AppSecret, "dingtalk-app-secret", c.AppSecret, "DingTalk app secret (prefer the environment variable)")
	fs.StringVar(&c.KdocsToken, "kdocs-access-token", c.KdocsToken, "kdocs relay access token (prefer the environment variable)")
	c.registerLimits(fs)
	fs.IntVar(&c.Concurrency, "concurrency", c.Concurrency, "sends in flight in this process")
	fs.IntVar(&c.MaxAttempts, "max-attempts", c.MaxAttempts, "sends per job before it is dead-lettered as exhausted")
	fs.DurationVar(&c.BackoffInitial, "backoff-initial", c.BackoffInitial, "delay after the first failed attempt; doubles each attempt, with jitter")
	fs.DurationVar(&c.BackoffMax, "backoff-max", c.BackoffMax, "longest delay between attempts")
	fs.DurationVar(&c.AckWait, "ack-wait", c.AckWait, "how long JetStream waits for a worker's answer before redelivering")
	fs.DurationVar(&c.HTTPTimeout, "http-timeout", c.HTTPTimeout, "timeout of one HTTP call to DingTalk")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long a stopping worker waits for in-flight sends")
	fs.DurationVar(&c.DuplicateWindow, "duplicate-window", c.DuplicateWindow, "how long the job stream drops a second publish with the same Nats-Msg-Id")
	fs.DurationVar(&c.SentTTL, "sent-ttl", c.SentTTL, "how long the id of a sent job is remembered, so a redelivered job is not sent twice")
	fs.IntVar(&c.Replicas, "replicas", c.Replicas, "replicas of every stream and key-value bucket: 1 for a single NATS server, 3 in a cluster (the servers must have as many JetStream nodes)")
	fs.Int64Var(&c.JobsMaxBytes, "jobs-max-bytes", c.JobsMaxBytes, "size limit in bytes of each app's job stream; a full stream refuses new jobs")
	fs.Int64Var(&c.DeadMaxBytes, "dead-max-bytes", c.DeadMaxBytes, "size limit in bytes of the dead-letter stream; while it is full, failing jobs stay queued")
	fs.StringVar(&c.HTTPAddr, "http-addr", c.HTTPAddr, "address of /healthz, /readyz and /metrics")
	fs.StringVar(&c.Status, "status", c.Status, "delivery status: on (each final outcome as an event on <prefix>.events.<kind>.<outcome> and in the DINGQ_STATUS bucket, for dingq status) or off")
	fs.BoolVar(&c.Debug, "debug-endpoints", c.Debug, "also serve /debug/pprof and /debug/vars on --http-addr (profiling; keep it off where others can reach the port)")
	fs.BoolVar(&c.Sandbox, "sandbox", c.Sandbox, "run the built-in DingTalk sandbox in-process and send there")
}

// EnvName is the environment variable of a flag: "nats-url" → "DINGQ_NATS_URL".
func EnvName(flagName string) string {
	return "DINGQ_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args into fs, flags and positional arguments in any order; then sets every flag
// that args did not give from its environment variable, read with getenv; then every flag that
// neither gave from the YAML file that --config (DINGQ_CONFIG) names, if any (see file.go). It
// defines --config on fs when [Config.Register] has not. It returns the positional arguments. An
// unusable value is an error that names the flag, the variable, or the file, line and key.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string) ([]string, error) {
	file := fileFlagOf(fs)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	envErr := setFromEnv(fs, getenv)
	return positional, errors.Join(envErr, file.load(fs))
}

// setFromEnv sets every flag that the command line did not give from its variable.
func setFromEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := visited(fs)
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		v := getenv(EnvName(f.Name))
		if given[f.Name] || v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %s", EnvName(f.Name), v, valueError(f, err)))
		}
	})
	return errors.Join(errs...)
}

// visited is the set of flags that have been set, on the command line or since.
func visited(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// valueError says what a value of f should look like, in the words every source's error uses:
// the standard flags' own "parse error" says nothing of it. A flag.Value of dingq's own (a rate)
// explains itself.
func valueError(f *flag.Flag, err error) string {
	if g, ok := f.Value.(flag.Getter); ok {
		switch g.Get().(type) {
		case bool:
			return "want true or false"
		case int, int64, uint, uint64:
			return "want a whole number"
		case float64:
			return "want a number"
		case time.Duration:
			return "want a duration such as 30s, 5m or 1h30m"
		}
	}
	return err.Error()
}

// named names a flag's setting in an error: its variable, and the file's key and line when the
// file set it, so that a mistake in the file is found where it was made.
func (c Config) named(flagName string) string {
	name := EnvName(flagName)
	if line, ok := c.file.lines[flagName]; ok {
		name += fmt.Sprintf(" (%s at %s:%d)", flagName, c.File, line)
	}
	return name
}

// Validate checks every setting a command uses and reports each mistake, naming its variable
// and, for a value the --config file set, the file's key and line.
func (c Config) Validate() error {
	var errs []error
	bad := func(flagName, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", c.named(flagName), fmt.Sprintf(format, args...)))
	}
	for _, u := range splitURLs(c.NATSURL) {
		if p, err := url.Parse(u); err != nil || p.Host == "" {
			bad("nats-url", "%q is not a URL like nats://host:4222", redactURL(u))
		}
	}
	if _, _, err := net.SplitHostPort(c.NATSListen); err != nil {
		bad("nats-listen", "%q is not host:port", c.NATSListen)
	}
	if c.Status != "on" && c.Status != "off" {
		bad("status", "%q: want on or off", c.Status)
	}
	errs = append(errs, c.natsSecurityErrors()...)
	errs = append(errs, c.limitErrors()...)
	errs = append(errs, c.profileErrors()...)
	if err := schema.ValidatePrefix(c.SubjectPrefix); err != nil {
		bad("subject-prefix", "%v", err)
	}
	for name, v := range map[string]string{"dingtalk-api-url": c.APIURL, "dingtalk-oapi-url": c.OAPIURL, "kdocs-api-url": c.KdocsURL} {
		if p, err := url.Parse(v); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			bad(name, "%q is not an http(s) URL", redactURL(v))
		}
	}
	if (c.AppKey == "") != (c.AppSecret == "") {
		bad("dingtalk-app-secret", "set both DINGQ_DINGTALK_APP_KEY and DINGQ_DINGTALK_APP_SECRET, or neither")
	}
	if c.Concurrency < 1 || c.Concurrency > 10000 {
		bad("concurrency", "%d: want 1 to 10000", c.Concurrency)
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > 1000 {
		bad("max-attempts", "%d: want 1 to 1000", c.MaxAttempts)
	}
	if c.BackoffInitial <= 0 {
		bad("backoff-initial", "%v: must be positive", c.BackoffInitial)
	}
	if c.BackoffMax < c.BackoffInitial {
		bad("backoff-max", "%v is shorter than DINGQ_BACKOFF_INITIAL %v", c.BackoffMax, c.BackoffInitial)
	}
	if c.AckWait < time.Second {
		bad("ack-wait", "%v: must be at least 1s", c.AckWait)
	}
	if c.HTTPTimeout <= 0 {
		bad("http-timeout", "%v: must be positive", c.HTTPTimeout)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown-timeout", "%v: must be positive", c.ShutdownTimeout)
	}
	if c.DuplicateWindow < time.Second {
		bad("duplicate-window", "%v: must be at least 1s", c.DuplicateWindow)
	}
	if c.SentTTL < time.Minute {
		bad("sent-ttl", "%v: must be at least 1m", c.SentTTL)
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		bad("replicas", "%d: want 1 to 5 (JetStream's limit)", c.Replicas)
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		bad("http-addr", "%q is not host:port", c.HTTPAddr)
	}
	if !slices.Contains([]string{"trace", "debug", "info", "warn", "error"}, c.LogLevel) {
		bad("log-level", "%q: want trace, debug, info, warn or error", c.LogLevel)
	}
	if !slices.Contains([]string{"json", "console"}, c.LogFormat) {
		bad("log-format", "%q: want json or console", c.LogFormat)
	}
	return errors.Join(errs...)
}

// NATSServers is the URL list to connect to: DINGQ_NATS_URL, or the embedded server's address.
func (c Config) NATSServers() string {
	if c.NATSURL != "" {
		return c.NATSURL
	}
	return "nats://" + c.NATSListen
}

// Worker returns the worker's share of the configuration.
func (c Config) Worker() worker.Config {
	return worker.Config{
		Names:              schema.NewNames(c.SubjectPrefix),
		Concurrency:        c.Concurrency,
		MaxAttempts:        c.MaxAttempts,
		BackoffInitial:     c.BackoffInitial,
		BackoffMax:         c.BackoffMax,
		AckWait:            c.AckWait,
		ShutdownTimeout:    c.ShutdownTimeout,
		DuplicateWindow:    c.DuplicateWindow,
		SentTTL:            c.SentTTL,
		Replicas:           c.Replicas,
		Apps:               slices.Sorted(maps.Keys(c.Apps)),
		JobStreamMaxBytes:  c.JobsMaxBytes,
		DeadStreamMaxBytes: c.DeadMaxBytes,
	}
}

func splitURLs(s string) []string {
	var out []string
	for _, u := range strings.Split(s, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// redactURL drops a URL's user info and query, which may hold credentials.
func redactURL(s string) string {
	p, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	p.User, p.RawQuery = nil, ""
	return p.String()
}
