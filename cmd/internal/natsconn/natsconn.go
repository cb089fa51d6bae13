// Package natsconn connects dingq's commands to NATS as their configuration says: the embedded
// server when no URL is set, otherwise the configured servers with their authentication and TLS.
// A setting that cannot be used (an unreadable CA bundle, a creds file without a JWT) is a
// [*SettingsError], found at start and named by its variable; connection errors hint at which
// settings to check, and none holds a password, token, seed or file content.
package natsconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/embedded"
)

// Conn is the process's NATS connection and, when dingq runs its own, the embedded server.
type Conn struct {
	*nats.Conn
	srv *embedded.Server
}

const (
	// PingInterval is how often the connection asks its server for a PONG. A server cut off the
	// network without a word (a partition, a host gone) leaves the connection open; it is given
	// up, and another server tried, after maxPingsOutstanding unanswered PINGs: within 10 to 15 s,
	// not nats.go's default of 2 to 4 minutes, in which a worker on that server sends nothing.
	PingInterval        = 5 * time.Second
	maxPingsOutstanding = 2
)

// Start starts the embedded server when no URL is configured and connects to it in-process;
// otherwise it connects to the configured servers with the configured authentication and TLS,
// reconnecting forever, and waits until the first connection is made, the servers refuse the
// credentials, or ctx ends.
func Start(ctx context.Context, cfg config.Config, log zerolog.Logger) (*Conn, error) {
	if cfg.NATSURL == "" {
		return startEmbedded(cfg, log)
	}
	opts, err := Options(cfg)
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		nats.Name("dingq-serve"),
		// Replies to the worker (pulled jobs, key-value reads of access tokens) come to inboxes
		// under a prefix that NATS permissions can keep to the worker user; see worker.InboxPrefix.
		nats.CustomInboxPrefix(worker.InboxPrefix),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.PingInterval(PingInterval),
		nats.MaxPingsOutstanding(maxPingsOutstanding),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn().Err(err).Msg("disconnected from NATS; reconnecting")
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info().Str("server", nc.ConnectedUrlRedacted()).Msg("reconnected to NATS")
		}),
		// Permission violations arrive here, not as the failing call's error: log them, or a
		// missing permission is a silent timeout. The same error is logged once a minute at most
		// (a heartbeat the server refuses would otherwise be a line every 5 s).
		nats.ErrorHandler(onceAMinute(func(err error) { log.Error().Err(err).Msg("NATS error") })))
	nc, err := nats.Connect(cfg.NATSURL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats: %w", err)
	}
	if err := waitConnected(ctx, nc, cfg, log); err != nil {
		nc.Close()
		return nil, err
	}
	return &Conn{Conn: nc}, nil
}

// startEmbedded starts the embedded server and connects in-process, which needs no
// authentication: the DINGQ_NATS_* security settings apply to DINGQ_NATS_URL only.
func startEmbedded(cfg config.Config, log zerolog.Logger) (*Conn, error) {
	if set := cfg.NATSSecuritySettings(); len(set) > 0 {
		log.Warn().Strs("settings", set).Msg("NATS authentication and TLS settings ignored: they apply to DINGQ_NATS_URL, and the embedded server has neither")
	}
	srv, err := embedded.Start(embedded.Config{Listen: cfg.NATSListen, StoreDir: cfg.DataDir, Logger: log})
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(srv.ClientURL(), nats.InProcessServer(srv), nats.Name("dingq-serve"),
		nats.CustomInboxPrefix(worker.InboxPrefix))
	if err != nil {
		srv.Shutdown()
		return nil, fmt.Errorf("connect to embedded nats: %w", err)
	}
	log.Info().Str("listen", cfg.NATSListen).Str("data_dir", cfg.DataDir).Msg("embedded NATS server started")
	return &Conn{Conn: nc, srv: srv}, nil
}

// waitConnected waits for the first connection. nats.go closes the connection when a server
// refuses the same credentials twice; that ends the wait with the refusal. Other failures (a
// server down, a certificate it does not accept) are retried until ctx ends, and reported.
func waitConnected(ctx context.Context, nc *nats.Conn, cfg config.Config, log zerolog.Logger) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	warned := time.Now()
	for !nc.IsConnected() {
		if nc.IsClosed() {
			err := nc.LastError()
			if err == nil {
				err = nats.ErrConnectionClosed
			}
			return fmt.Errorf("connect to nats at %s (%s): %w", redactedServers(cfg), connectHint(cfg, err), err)
		}
		if time.Since(warned) > 5*time.Second {
			log.Warn().AnErr("last_error", nc.LastError()).Msg("waiting for NATS")
			warned = time.Now()
		}
		select {
		case <-ctx.Done():
			if last := nc.LastError(); last != nil {
				return fmt.Errorf("waiting for nats at %s: %w; last error: %v (%s)", redactedServers(cfg), ctx.Err(), last, connectHint(cfg, last))
			}
			return fmt.Errorf("waiting for nats at %s: %w", redactedServers(cfg), ctx.Err())
		case <-tick.C:
		}
	}
	log.Info().Str("server", nc.ConnectedUrlRedacted()).Msg("connected to NATS")
	return nil
}

// Stop flushes what the worker sent (acks, naks), closes the connection and stops the embedded
// server. While NATS is unreachable it does not flush, which could only wait out its timeout;
// the caller says what is left unflushed.
func (c *Conn) Stop() {
	if c.IsConnected() {
		_ = c.FlushTimeout(5 * time.Second)
	}
	c.Close()
	if c.srv != nil {
		c.srv.Shutdown()
	}
}

// Client connects a short-lived client command (send, dlq, status) to NATS and JetStream:
// the configured URL, or the embedded server's address of a running `dingq serve`, with the
// configured authentication and TLS, and extra. Close the connection when done.
func Client(cfg config.Config, extra ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	opts, err := Options(cfg)
	if err != nil {
		return nil, nil, err
	}
	nc, err := nats.Connect(cfg.NATSServers(), append(append(opts, nats.Name("dingq-cli"), nats.Timeout(5*time.Second)), extra...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to nats at %s (%s): %w", redactedServers(cfg), connectHint(cfg, err), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

func redactedServers(cfg config.Config) string {
	if cfg.NATSURL == "" {
		return cfg.NATSListen
	}
	return "DINGQ_NATS_URL"
}

// Options returns the nats.go options for the authentication and TLS that cfg configures:
// at most one way to authenticate (user and password, token, NKey seed, or creds file; cfg was
// validated), a CA bundle, a client certificate. Each option is tried here, so a file that cannot
// be used (no certificate in the CA bundle, a key that does not match its certificate, a creds
// file without a JWT) is reported at start as a [*SettingsError], naming its variable and path,
// rather than on every reconnect. Errors never hold a password, token, seed
// or file content.
func Options(cfg config.Config) ([]nats.Option, error) {
	type named struct {
		what string // the variables, and paths, the option comes from
		opt  nats.Option
	}
	var candidates []named
	var errs []error
	switch {
	case cfg.NATSUser != "":
		candidates = append(candidates, named{"DINGQ_NATS_USER", nats.UserInfo(cfg.NATSUser, cfg.NATSPassword)})
	case cfg.NATSToken != "":
		candidates = append(candidates, named{"DINGQ_NATS_TOKEN", nats.Token(cfg.NATSToken)})
	case cfg.NATSNkeySeed != "":
		what := "DINGQ_NATS_NKEY_SEED " + cfg.NATSNkeySeed
		opt, err := nats.NkeyOptionFromSeed(cfg.NATSNkeySeed)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		} else {
			candidates = append(candidates, named{what, opt})
		}
	case cfg.NATSCreds != "":
		candidates = append(candidates, named{"DINGQ_NATS_CREDS " + cfg.NATSCreds, nats.UserCredentials(cfg.NATSCreds)})
	}
	if cfg.NATSTLSCA != "" {
		candidates = append(candidates, named{"DINGQ_NATS_TLS_CA " + cfg.NATSTLSCA, nats.RootCAs(cfg.NATSTLSCA)})
	}
	if cfg.NATSTLSCert != "" {
		candidates = append(candidates, named{
			"DINGQ_NATS_TLS_CERT " + cfg.NATSTLSCert + ", DINGQ_NATS_TLS_KEY " + cfg.NATSTLSKey,
			nats.ClientCert(cfg.NATSTLSCert, cfg.NATSTLSKey)})
	}

	var opts []nats.Option
	for _, c := range candidates {
		if err := tryOption(c.opt); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.what, err))
			continue
		}
		opts = append(opts, c.opt)
	}
	if len(errs) > 0 {
		return nil, &SettingsError{Err: errors.Join(errs...)}
	}
	return opts, nil
}

// tryOption applies opt to scratch options, which loads its files, and for a creds file also
// checks that it holds a user JWT and a seed that can sign.
func tryOption(opt nats.Option) error {
	var o nats.Options
	if err := opt(&o); err != nil {
		return err
	}
	if o.UserJWT == nil {
		return nil
	}
	// nats.go takes a file with no JWT block as a JWT itself, and would send it to the server:
	// possibly a seed.
	jwt, err := o.UserJWT()
	if err != nil {
		return err
	}
	if strings.Count(jwt, ".") != 2 {
		return errors.New("holds no user JWT (an NKey seed alone goes in DINGQ_NATS_NKEY_SEED)")
	}
	if _, err := o.SignatureCB([]byte("dingq")); err != nil {
		return err
	}
	return nil
}

// connectHint says which settings to check for a failed connection.
func connectHint(cfg config.Config, err error) string {
	// A TLS alert from the server (it wanted a client certificate, say) can also arrive after the
	// handshake, when nats.go reads the server's first answer: crypto/tls reports it so.
	var remote *net.OpError
	tlsAlert := errors.As(err, &remote) && remote.Op == "remote error"
	switch {
	case errors.Is(err, nats.ErrAuthorization), errors.Is(err, nats.ErrAuthExpired),
		errors.Is(err, nats.ErrAuthRevoked), errors.Is(err, nats.ErrAccountAuthExpired):
		var auth []string
		for _, v := range cfg.NATSSecuritySettings() {
			if !strings.Contains(v, "_TLS_") {
				auth = append(auth, v)
			}
		}
		if len(auth) == 0 && strings.Contains(cfg.NATSURL, "@") {
			return "the server refused the credentials in DINGQ_NATS_URL"
		}
		if len(auth) == 0 {
			return "the server wants credentials: set DINGQ_NATS_USER and DINGQ_NATS_PASSWORD, DINGQ_NATS_TOKEN, DINGQ_NATS_NKEY_SEED or DINGQ_NATS_CREDS"
		}
		return "the server refused the credentials: check " + strings.Join(auth, " and ")
	case errors.Is(err, nats.ErrTLS), tlsAlert,
		errors.Is(err, nats.ErrSecureConnRequired), errors.Is(err, nats.ErrSecureConnWanted):
		return "TLS failed: check DINGQ_NATS_TLS_CA, DINGQ_NATS_TLS_CERT and DINGQ_NATS_TLS_KEY, and the URL's host against the server's certificate"
	}
	return "is `dingq serve` running, or DINGQ_NATS_URL set?"
}

// SettingsError is a NATS setting that cannot be used as configured: a mistake in the
// configuration, not in the connection.
type SettingsError struct{ Err error }

func (e *SettingsError) Error() string { return e.Err.Error() }
func (e *SettingsError) Unwrap() error { return e.Err }

// onceAMinute returns a nats.go error handler that passes an error to logf unless the same
// error text was passed within the last minute.
func onceAMinute(logf func(error)) nats.ErrHandler {
	var mu sync.Mutex
	last := map[string]time.Time{}
	return func(_ *nats.Conn, _ *nats.Subscription, err error) {
		mu.Lock()
		now := time.Now()
		at, seen := last[err.Error()]
		if !seen || now.Sub(at) >= time.Minute {
			if len(last) > 100 {
				clear(last)
			}
			last[err.Error()] = now
			seen = false
		}
		mu.Unlock()
		if !seen {
			logf(err)
		}
	}
}
