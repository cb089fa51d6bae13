package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"
)

// NATSSecuritySettings names the variables of the NATS authentication and TLS settings that are
// set, e.g. ["DINGQ_NATS_USER", "DINGQ_NATS_TLS_CA"]; none when the connection is plain.
func (c Config) NATSSecuritySettings() []string {
	var set []string
	for _, s := range c.natsSecurity() {
		if s.value != "" {
			set = append(set, EnvName(s.flag))
		}
	}
	return set
}

// natsSetting is one authentication or TLS setting, and whether its value is a file path.
type natsSetting struct {
	flag  string
	value string
	file  bool
}

func (c Config) natsSecurity() []natsSetting {
	return []natsSetting{
		{"nats-user", c.NATSUser, false},
		{"nats-password", c.NATSPassword, false},
		{"nats-token", c.NATSToken, false},
		{"nats-nkey-seed", c.NATSNkeySeed, true},
		{"nats-creds", c.NATSCreds, true},
		{"nats-tls-ca", c.NATSTLSCA, true},
		{"nats-tls-cert", c.NATSTLSCert, true},
		{"nats-tls-key", c.NATSTLSKey, true},
	}
}

// natsSecurityErrors reports each mistake in the NATS authentication and TLS settings: a half
// of a pair, more than one way to authenticate, a file that cannot be read. The messages name
// variables and paths, never a password, token or file content.
func (c Config) natsSecurityErrors() []error {
	var errs []error
	bad := func(flagName, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", c.named(flagName), fmt.Sprintf(format, args...)))
	}
	if c.NATSPassword != "" && c.NATSUser == "" {
		bad("nats-password", "set without DINGQ_NATS_USER")
	}
	if c.NATSUser != "" && c.NATSPassword == "" {
		bad("nats-password", "empty, but DINGQ_NATS_USER is set: set both or neither")
	}
	if methods := c.natsAuthMethods(); len(methods) > 1 {
		errs = append(errs, fmt.Errorf("%s: %d ways to authenticate are set; choose one",
			strings.Join(methods, ", "), len(methods)))
	}
	if c.NATSTLSCert != "" && c.NATSTLSKey == "" {
		bad("nats-tls-key", "empty, but DINGQ_NATS_TLS_CERT is set: a client certificate needs its key")
	}
	if c.NATSTLSKey != "" && c.NATSTLSCert == "" {
		bad("nats-tls-cert", "empty, but DINGQ_NATS_TLS_KEY is set: a key needs its client certificate")
	}
	for _, s := range c.natsSecurity() {
		if s.file && s.value != "" {
			if err := checkReadable(s.value); err != nil {
				bad(s.flag, "%v", err)
			}
		}
	}
	return errs
}

// natsAuthMethods names each way to authenticate that is configured. nats.go lets credentials in
// the URL silently win over the others, so they count as one too.
func (c Config) natsAuthMethods() []string {
	var methods []string
	if c.NATSUser != "" || c.NATSPassword != "" {
		methods = append(methods, "DINGQ_NATS_USER")
	}
	for flagName, v := range map[string]string{"nats-token": c.NATSToken, "nats-nkey-seed": c.NATSNkeySeed, "nats-creds": c.NATSCreds} {
		if v != "" {
			methods = append(methods, EnvName(flagName))
		}
	}
	slices.Sort(methods)
	for _, u := range splitURLs(c.NATSURL) {
		if p, err := url.Parse(u); err == nil && p.User != nil {
			methods = append(methods, "DINGQ_NATS_URL (credentials in the URL)")
			break
		}
	}
	return methods
}

// checkReadable reports a path that cannot be opened for reading, is a directory, or is empty.
func checkReadable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("cannot read %s: %v", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	switch {
	case err != nil:
		return fmt.Errorf("cannot read %s: %v", path, err)
	case st.IsDir():
		return fmt.Errorf("%s is a directory, not a file", path)
	case st.Size() == 0:
		return fmt.Errorf("%s is empty", path)
	}
	return nil
}
