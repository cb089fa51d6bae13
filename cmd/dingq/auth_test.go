package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/cmd/internal/natsconn"
	"github.com/dingq/dingq/worker/workertest"
)

// authCase is a NATS server that demands one way of authenticating, settings that satisfy it,
// settings that do not, and the secrets of both, which no error or log line may hold.
type authCase struct {
	name     string
	server   func(*server.Options)
	good     func(*config.Config)
	bad      func(*config.Config)
	wantHint string // in the error of the bad settings
	secrets  []string
}

func authCases(t *testing.T) []authCase {
	dir := t.TempDir()
	userSeed, userPub := newNkey(t, nkeys.CreateUser)
	strangerSeed, _ := newNkey(t, nkeys.CreateUser)
	userSeedFile := writeFile(t, dir, "user.nk", userSeed+"\n")
	strangerSeedFile := writeFile(t, dir, "stranger.nk", strangerSeed+"\n")
	op := newOperator(t)
	goodCreds, goodCredsSeed := op.creds(t, dir, "good.creds", op.account)
	badCreds, badCredsSeed := op.creds(t, dir, "bad.creds", op.untrusted)
	pki := newPKI(t, dir)
	const credRefused = "the server refused the credentials"
	return []authCase{{
		name: "user and password",
		server: func(o *server.Options) {
			o.Users = []*server.User{{Username: "dingq", Password: "pw-good-61b2c9"}}
		},
		good:     func(c *config.Config) { c.NATSUser, c.NATSPassword = "dingq", "pw-good-61b2c9" },
		bad:      func(c *config.Config) { c.NATSUser, c.NATSPassword = "dingq", "pw-wrong-0c9e4d" },
		wantHint: credRefused,
		secrets:  []string{"pw-good-61b2c9", "pw-wrong-0c9e4d"},
	}, {
		name:     "token",
		server:   func(o *server.Options) { o.Authorization = "tok-good-77ad01" },
		good:     func(c *config.Config) { c.NATSToken = "tok-good-77ad01" },
		bad:      func(c *config.Config) { c.NATSToken = "tok-wrong-3f5e88" },
		wantHint: credRefused,
		secrets:  []string{"tok-good-77ad01", "tok-wrong-3f5e88"},
	}, {
		name:     "nkey seed",
		server:   func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: userPub}} },
		good:     func(c *config.Config) { c.NATSNkeySeed = userSeedFile },
		bad:      func(c *config.Config) { c.NATSNkeySeed = strangerSeedFile },
		wantHint: credRefused,
		secrets:  []string{userSeed, strangerSeed},
	}, {
		name:     "creds file",
		server:   op.configure,
		good:     func(c *config.Config) { c.NATSCreds = goodCreds },
		bad:      func(c *config.Config) { c.NATSCreds = badCreds },
		wantHint: credRefused,
		secrets:  []string{goodCredsSeed, badCredsSeed},
	}, {
		name:   "mutual TLS, a server from another CA",
		server: pki.configure,
		good: func(c *config.Config) {
			c.NATSTLSCA, c.NATSTLSCert, c.NATSTLSKey = pki.ca, pki.clientCert, pki.clientKey
		},
		bad: func(c *config.Config) {
			c.NATSTLSCA, c.NATSTLSCert, c.NATSTLSKey = pki.otherCA, pki.clientCert, pki.clientKey
		},
		wantHint: "TLS failed",
		secrets:  []string{pki.clientKeyPEM},
	}, {
		name:   "mutual TLS, no client certificate",
		server: pki.configure,
		good: func(c *config.Config) {
			c.NATSTLSCA, c.NATSTLSCert, c.NATSTLSKey = pki.ca, pki.clientCert, pki.clientKey
		},
		bad:      func(c *config.Config) { c.NATSTLSCA = pki.ca },
		wantHint: "TLS failed",
		secrets:  []string{pki.clientKeyPEM},
	}}
}

// TestClientAuthenticates connects as `dingq send` does, with each way of authenticating.
func TestClientAuthenticates(t *testing.T) {
	for _, c := range authCases(t) {
		t.Run(c.name, func(t *testing.T) {
			url := startSecuredServer(t, c.server)
			good, bad := securedConfig(t, url, c.good), securedConfig(t, url, c.bad)

			nc, _, err := natsconn.Client(good)
			if err != nil {
				t.Fatalf("connect with the right settings: %v", err)
			}
			if err := nc.Publish("probe", []byte("x")); err != nil {
				t.Error(err)
			}
			if err := nc.FlushTimeout(5 * time.Second); err != nil {
				t.Error(err)
			}
			nc.Close()

			nc, _, err = natsconn.Client(bad)
			if err == nil {
				nc.Close()
				t.Fatal("connect with the wrong settings succeeded")
			}
			checkError(t, err, c.wantHint, c.secrets)
		})
	}
}

// TestServeAuthenticates connects as `dingq serve` does: it retries what may heal, stops at a
// refusal of its credentials, and reports the cause either way.
func TestServeAuthenticates(t *testing.T) {
	for _, c := range authCases(t) {
		t.Run(c.name, func(t *testing.T) {
			url := startSecuredServer(t, c.server)
			good, bad := securedConfig(t, url, c.good), securedConfig(t, url, c.bad)
			logs := &workertest.LogBuffer{}
			log := zerolog.New(logs)

			conn, err := natsconn.Start(context.Background(), good, log)
			if err != nil {
				t.Fatalf("connect with the right settings: %v", err)
			}
			conn.Stop()

			// A refused credential ends the wait at once; a TLS failure is retried until the
			// context ends, so the deadline is where that case stops.
			ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
			defer cancel()
			conn, err = natsconn.Start(ctx, bad, log)
			if err == nil {
				conn.Stop()
				t.Fatal("connect with the wrong settings succeeded")
			}
			if c.wantHint != "TLS failed" && ctx.Err() != nil {
				t.Errorf("a refused credential was retried until the deadline: %v", err)
			}
			checkError(t, err, c.wantHint, c.secrets)
			for _, s := range c.secrets {
				if strings.Contains(logs.String(), s) {
					t.Errorf("logs hold secret %q:\n%s", s, logs.String())
				}
			}
		})
	}
}

func checkError(t *testing.T, err error, hint string, secrets []string) {
	t.Helper()
	if !strings.Contains(err.Error(), hint) {
		t.Errorf("error %q does not say %q", err, hint)
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q holds secret %q", err, s)
		}
	}
}

// startSecuredServer starts a NATS server on a free loopback port, configured by configure, and
// returns its URL.
func startSecuredServer(t *testing.T, configure func(*server.Options)) string {
	t.Helper()
	opts := &server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true, NoLog: true}
	configure(opts)
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	return "nats://" + s.Addr().String()
}

func securedConfig(t *testing.T, url string, set func(*config.Config)) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.NATSURL = url
	set(&cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("settings of the test are invalid: %v", err)
	}
	return cfg
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newNkey(t *testing.T, create func() (nkeys.KeyPair, error)) (seed, pub string) {
	t.Helper()
	kp, err := create()
	if err != nil {
		t.Fatal(err)
	}
	s, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	p, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return string(s), p
}

// operator is a minimal operator-mode setup: an operator, one account it signs (whose users the
// server trusts), and an account it does not.
type operator struct {
	claims             *jwt.OperatorClaims
	account, untrusted nkeys.KeyPair
	accountJWT         string
}

func newOperator(t *testing.T) *operator {
	t.Helper()
	must := func(kp nkeys.KeyPair, err error) nkeys.KeyPair {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return kp
	}
	opKP := must(nkeys.CreateOperator())
	accKP := must(nkeys.CreateAccount())
	opPub, _ := opKP.PublicKey()
	accPub, _ := accKP.PublicKey()
	oc := jwt.NewOperatorClaims(opPub)
	if _, err := oc.Encode(opKP); err != nil {
		t.Fatal(err)
	}
	accJWT, err := jwt.NewAccountClaims(accPub).Encode(opKP)
	if err != nil {
		t.Fatal(err)
	}
	return &operator{claims: oc, account: accKP, untrusted: must(nkeys.CreateAccount()), accountJWT: accJWT}
}

func (op *operator) configure(o *server.Options) {
	accPub, _ := op.account.PublicKey()
	r := &server.MemAccResolver{}
	_ = r.Store(accPub, op.accountJWT)
	o.TrustedOperators = []*jwt.OperatorClaims{op.claims}
	o.AccountResolver = r
}

// creds writes a .creds file of a new user signed by account and returns its path and seed.
func (op *operator) creds(t *testing.T, dir, name string, account nkeys.KeyPair) (path, seed string) {
	t.Helper()
	seed, pub := newNkey(t, nkeys.CreateUser)
	userJWT, err := jwt.NewUserClaims(pub).Encode(account)
	if err != nil {
		t.Fatal(err)
	}
	content, err := jwt.FormatUserConfig(userJWT, []byte(seed))
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, string(content)), seed
}

// pki is a CA, a server certificate for 127.0.0.1 and a client certificate it signed, and a
// second CA that signed nothing the server holds.
type pki struct {
	ca, otherCA           string
	serverCert, serverKey string
	clientCert, clientKey string
	clientKeyPEM          string // the key's base64 body: a secret
}

func newPKI(t *testing.T, dir string) *pki {
	t.Helper()
	caCert, caKey := newCert(t, nil, nil, &x509.Certificate{
		Subject: pkix.Name{CommonName: "dingq test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	})
	otherCert, _ := newCert(t, nil, nil, &x509.Certificate{
		Subject: pkix.Name{CommonName: "another CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	})
	srvCert, srvKey := newCert(t, caCert, caKey, &x509.Certificate{
		Subject: pkix.Name{CommonName: "nats"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames: []string{"localhost"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	})
	cliCert, cliKey := newCert(t, caCert, caKey, &x509.Certificate{
		Subject: pkix.Name{CommonName: "dingq-worker"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	})
	p := &pki{
		ca:         writeFile(t, dir, "ca.pem", certPEM(caCert)),
		otherCA:    writeFile(t, dir, "other-ca.pem", certPEM(otherCert)),
		serverCert: writeFile(t, dir, "server.pem", certPEM(srvCert)),
		serverKey:  writeFile(t, dir, "server-key.pem", keyPEM(t, srvKey)),
		clientCert: writeFile(t, dir, "client.pem", certPEM(cliCert)),
		clientKey:  writeFile(t, dir, "client-key.pem", keyPEM(t, cliKey)),
	}
	lines := strings.Split(keyPEM(t, cliKey), "\n")
	p.clientKeyPEM = lines[1]
	return p
}

// configure requires TLS and a client certificate signed by the CA.
func (p *pki) configure(o *server.Options) {
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{
		CertFile: p.serverCert, KeyFile: p.serverKey, CaFile: p.ca, Verify: true,
	})
	if err != nil {
		panic(err)
	}
	o.TLSConfig, o.TLS, o.TLSVerify, o.TLSTimeout = tc, true, true, 5
}

func newCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, tmpl *x509.Certificate) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func certPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func keyPEM(t *testing.T, k *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}
