package config_test

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dingq/dingq/cmd/internal/config"
)

// Values no error may echo.
const (
	password = "pw-9c1d77e0"
	token    = "tok-4be3a1f2"
)

func TestNATSSecuritySettingsAreFlagsOfEveryCommand(t *testing.T) {
	files := readableFiles(t, "seed", "creds", "ca.pem", "cert.pem", "key.pem")
	for _, c := range []struct {
		env  map[string]string
		want func(config.Config) bool
	}{
		{map[string]string{"DINGQ_NATS_USER": "dingq", "DINGQ_NATS_PASSWORD": password},
			func(c config.Config) bool { return c.NATSUser == "dingq" && c.NATSPassword == password }},
		{map[string]string{"DINGQ_NATS_TOKEN": token},
			func(c config.Config) bool { return c.NATSToken == token }},
		{map[string]string{"DINGQ_NATS_NKEY_SEED": files["seed"]},
			func(c config.Config) bool { return c.NATSNkeySeed == files["seed"] }},
		{map[string]string{"DINGQ_NATS_CREDS": files["creds"], "DINGQ_NATS_TLS_CA": files["ca.pem"],
			"DINGQ_NATS_TLS_CERT": files["cert.pem"], "DINGQ_NATS_TLS_KEY": files["key.pem"]},
			func(c config.Config) bool {
				return c.NATSCreds == files["creds"] && c.NATSTLSCA == files["ca.pem"] &&
					c.NATSTLSCert == files["cert.pem"] && c.NATSTLSKey == files["key.pem"]
			}},
	} {
		// `send` registers only the shared settings: they must be there.
		cfg := config.Default()
		fs := flag.NewFlagSet("send", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		cfg.Register(fs)
		if _, err := config.Parse(fs, nil, func(k string) string { return c.env[k] }); err != nil {
			t.Fatal(err)
		}
		if !c.want(cfg) {
			t.Errorf("env %v: cfg = %+v", keys(c.env), cfg)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("env %v: Validate() = %v", keys(c.env), err)
		}
		if got := cfg.NATSSecuritySettings(); !slices.Equal(got, keys(c.env)) {
			t.Errorf("NATSSecuritySettings() = %v, want %v", got, keys(c.env))
		}
	}
}

func TestValidateNamesEachNATSSecurityMistake(t *testing.T) {
	files := readableFiles(t, "seed", "creds", "cert.pem")
	dir := t.TempDir()
	missing := filepath.Join(dir, "nowhere.pem")
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"password without user", map[string]string{"DINGQ_NATS_PASSWORD": password},
			[]string{"DINGQ_NATS_PASSWORD", "without DINGQ_NATS_USER"}},
		{"user without password", map[string]string{"DINGQ_NATS_USER": "dingq"},
			[]string{"DINGQ_NATS_PASSWORD", "DINGQ_NATS_USER is set"}},
		{"user and token", map[string]string{"DINGQ_NATS_USER": "dingq", "DINGQ_NATS_PASSWORD": password, "DINGQ_NATS_TOKEN": token},
			[]string{"DINGQ_NATS_TOKEN, DINGQ_NATS_USER", "2 ways to authenticate"}},
		{"seed and creds", map[string]string{"DINGQ_NATS_NKEY_SEED": files["seed"], "DINGQ_NATS_CREDS": files["creds"]},
			[]string{"DINGQ_NATS_CREDS, DINGQ_NATS_NKEY_SEED", "2 ways"}},
		{"token and credentials in the URL", map[string]string{"DINGQ_NATS_TOKEN": token, "DINGQ_NATS_URL": "nats://u:" + password + "@nats:4222"},
			[]string{"DINGQ_NATS_TOKEN, DINGQ_NATS_URL (credentials in the URL)"}},
		{"cert without key", map[string]string{"DINGQ_NATS_TLS_CERT": files["cert.pem"]},
			[]string{"DINGQ_NATS_TLS_KEY", "needs its key"}},
		{"key without cert", map[string]string{"DINGQ_NATS_TLS_KEY": files["cert.pem"]},
			[]string{"DINGQ_NATS_TLS_CERT", "needs its client certificate"}},
		{"missing CA", map[string]string{"DINGQ_NATS_TLS_CA": missing},
			[]string{"DINGQ_NATS_TLS_CA", "cannot read " + missing, "no such file"}},
		{"seed is a directory", map[string]string{"DINGQ_NATS_NKEY_SEED": dir},
			[]string{"DINGQ_NATS_NKEY_SEED", dir + " is a directory"}},
		{"empty creds", map[string]string{"DINGQ_NATS_CREDS": empty},
			[]string{"DINGQ_NATS_CREDS", empty + " is empty"}},
		{"missing key", map[string]string{"DINGQ_NATS_TLS_CERT": files["cert.pem"], "DINGQ_NATS_TLS_KEY": missing},
			[]string{"DINGQ_NATS_TLS_KEY", "cannot read " + missing}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := parse(t, nil, c.env)
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
			for _, secret := range []string{password, token} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("Validate() = %q: holds a secret", err)
				}
			}
		})
	}
}

// readableFiles writes a non-empty file per name into a temporary directory and returns their
// paths by name.
func readableFiles(t *testing.T, names ...string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	paths := map[string]string{}
	for _, n := range names {
		paths[n] = filepath.Join(dir, n)
		if err := os.WriteFile(paths[n], []byte("content of "+n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

// keys returns the variables of env in the order NATSSecuritySettings lists them.
func keys(env map[string]string) []string {
	order := []string{"DINGQ_NATS_USER", "DINGQ_NATS_PASSWORD", "DINGQ_NATS_TOKEN", "DINGQ_NATS_NKEY_SEED",
		"DINGQ_NATS_CREDS", "DINGQ_NATS_TLS_CA", "DINGQ_NATS_TLS_CERT", "DINGQ_NATS_TLS_KEY"}
	var out []string
	for _, k := range order {
		if _, ok := env[k]; ok {
			out = append(out, k)
		}
	}
	return out
}
