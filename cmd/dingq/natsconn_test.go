package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/cmd/internal/natsconn"
	"github.com/dingq/dingq/dispatcher/sandbox"
	"github.com/dingq/dingq/worker/workertest"
)

func TestNATSOptionsRefuseUnusableFilesNamingTheVariable(t *testing.T) {
	dir := t.TempDir()
	pki := newPKI(t, dir)
	seed, _ := newNkey(t, nkeys.CreateUser)
	accountSeed, _ := newNkey(t, nkeys.CreateAccount)
	notPEM := writeFile(t, dir, "not.pem", "no certificate here\n")
	seedOnly := writeFile(t, dir, "seed-only.creds", "-----BEGIN USER NKEY SEED-----\n"+seed+"\n------END USER NKEY SEED------\n")
	garbledSeed := writeFile(t, dir, "garbled.nk", "SU"+strings.Repeat("A", 56)+"\n")
	jwtOnly := writeFile(t, dir, "jwt-only.creds", userJWTBlock(t))

	cases := []struct {
		name string
		set  func(*config.Config)
		want []string
	}{
		{"CA bundle without a certificate", func(c *config.Config) { c.NATSTLSCA = notPEM },
			[]string{"DINGQ_NATS_TLS_CA " + notPEM}},
		{"key of another certificate", func(c *config.Config) {
			c.NATSTLSCert, c.NATSTLSKey = pki.clientCert, pki.serverKey
		}, []string{"DINGQ_NATS_TLS_CERT " + pki.clientCert + ", DINGQ_NATS_TLS_KEY " + pki.serverKey, "private key does not match"}},
		{"an account seed, not a user's", func(c *config.Config) {
			c.NATSNkeySeed = writeFile(t, dir, "account.nk", accountSeed+"\n")
		}, []string{"DINGQ_NATS_NKEY_SEED", "account.nk", "user"}},
		{"a garbled seed", func(c *config.Config) { c.NATSNkeySeed = garbledSeed },
			[]string{"DINGQ_NATS_NKEY_SEED " + garbledSeed}},
		{"a seed given as creds", func(c *config.Config) { c.NATSCreds = seedOnly },
			[]string{"DINGQ_NATS_CREDS " + seedOnly, "holds no user JWT"}},
		{"creds without a seed", func(c *config.Config) { c.NATSCreds = jwtOnly },
			[]string{"DINGQ_NATS_CREDS " + jwtOnly}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.NATSURL = "nats://127.0.0.1:4222"
			c.set(&cfg)
			if err := cfg.Validate(); err != nil {
				t.Fatalf("the files are readable, Validate should pass: %v", err)
			}
			_, err := natsconn.Options(cfg)
			if err == nil {
				t.Fatal("Options accepted an unusable file")
			}
			if !errors.As(err, new(*natsconn.SettingsError)) {
				t.Errorf("error %q is not a configuration mistake (exit code 2)", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, s := range []string{seed, accountSeed, pki.clientKeyPEM} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q holds a secret", err)
				}
			}
		})
	}
}

func TestNATSOptionsNoneForAPlainConnection(t *testing.T) {
	opts, err := natsconn.Options(config.Default())
	if err != nil || len(opts) != 0 {
		t.Errorf("natsconn.Options(default) = %d options, %v; want none", len(opts), err)
	}
}

func TestEmbeddedServerWarnsThatSecuritySettingsAreIgnored(t *testing.T) {
	const token = "tok-unused-5a0c"
	cfg := config.Default()
	cfg.NATSListen, cfg.DataDir, cfg.NATSToken = "127.0.0.1:0", t.TempDir(), token
	logs := &workertest.LogBuffer{}
	conn, err := natsconn.Start(t.Context(), cfg, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	conn.Stop()
	if !strings.Contains(logs.String(), "NATS authentication and TLS settings ignored") ||
		!strings.Contains(logs.String(), "DINGQ_NATS_TOKEN") || strings.Contains(logs.String(), token) {
		t.Errorf("logs:\n%s", logs)
	}
}

// TestServeAndSendOverAuthenticatedTLS runs both commands, configured only through the
// environment, against a NATS server that demands a password and a client certificate.
func TestServeAndSendOverAuthenticatedTLS(t *testing.T) {
	const password = "pw-e2e-c41f09"
	pki := newPKI(t, t.TempDir())
	url := startSecuredServer(t, func(o *server.Options) {
		pki.configure(o)
		o.JetStream, o.StoreDir = true, t.TempDir()
		o.Users = []*server.User{{Username: "dingq", Password: password}}
	})
	sb, err := sandbox.New(sandbox.Config{AppKey: "app-key", AppSecret: appSecret, KdocsToken: kdocsToken})
	if err != nil {
		t.Fatal(err)
	}
	sbSrv, err := sandbox.Start("127.0.0.1:0", sb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sbSrv.Close() })
	env := map[string]string{
		"DINGQ_NATS_URL":            url,
		"DINGQ_NATS_USER":           "dingq",
		"DINGQ_NATS_PASSWORD":       password,
		"DINGQ_NATS_TLS_CA":         pki.ca,
		"DINGQ_NATS_TLS_CERT":       pki.clientCert,
		"DINGQ_NATS_TLS_KEY":        pki.clientKey,
		"DINGQ_DINGTALK_API_URL":    sbSrv.URL(),
		"DINGQ_DINGTALK_OAPI_URL":   sbSrv.URL(),
		"DINGQ_KDOCS_API_URL":       sbSrv.URL(),
		"DINGQ_DINGTALK_APP_KEY":    "app-key",
		"DINGQ_DINGTALK_APP_SECRET": appSecret,
		"DINGQ_KDOCS_ACCESS_TOKEN":  kdocsToken,
		"DINGQ_HTTP_ADDR":           freeAddr(t),
	}
	h := &harness{t: t, out: &workertest.LogBuffer{}}
	stop := h.start(env)

	if code, out := cli(env, cardJob("tls-e2e-1"), "send", "card"); code != 0 {
		t.Fatalf("send: exit %d: %s", code, out)
	}
	waitFor(t, 15*time.Second, "the job delivered", func() bool { return sb.DeliveryCount("tls-e2e-1") == 1 }, h.out)
	if code := stop(); code != 0 {
		t.Errorf("serve exit code %d", code)
	}
	if strings.Contains(h.out.String(), password) {
		t.Error("output holds the NATS password")
	}

	wrong := map[string]string{}
	for k, v := range env {
		wrong[k] = v
	}
	wrong["DINGQ_NATS_PASSWORD"] = "pw-wrong-77e1b3"
	code, out := cli(wrong, cardJob("tls-e2e-2"), "send", "card")
	if code != 1 || !strings.Contains(out, "the server refused the credentials: check DINGQ_NATS_USER and DINGQ_NATS_PASSWORD") ||
		strings.Contains(out, "pw-wrong-77e1b3") {
		t.Errorf("send with a wrong password: exit %d: %s", code, out)
	}
}

// userJWTBlock is a creds file's JWT block alone, without the seed that signs for it.
func userJWTBlock(t *testing.T) string {
	t.Helper()
	accKP, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	_, pub := newNkey(t, nkeys.CreateUser)
	userJWT, err := jwt.NewUserClaims(pub).Encode(accKP)
	if err != nil {
		t.Fatal(err)
	}
	return "-----BEGIN NATS USER JWT-----\n" + userJWT + "\n------END NATS USER JWT------\n"
}

// TestServeLogsPermissionViolations: the server reports a refused publish apart from the call
// that made it; `serve` logs it, so that a missing permission is not a silent timeout.
func TestServeLogsPermissionViolations(t *testing.T) {
	url := startSecuredServer(t, func(o *server.Options) {
		o.Users = []*server.User{{Username: "dingq", Password: "pw-perm-1c2d", Permissions: &server.Permissions{
			Publish: &server.SubjectPermission{Allow: []string{"dingq.send.>"}},
		}}}
	})
	cfg := config.Default()
	cfg.NATSURL, cfg.NATSUser, cfg.NATSPassword = url, "dingq", "pw-perm-1c2d"
	logs := &workertest.LogBuffer{}
	conn, err := natsconn.Start(t.Context(), cfg, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Stop()
	if err := conn.Publish("dingq.dead.card", []byte("x")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the violation logged", func() bool {
		return strings.Contains(logs.String(), `Permissions Violation for Publish to \"dingq.dead.card\"`)
	}, logs)
}
