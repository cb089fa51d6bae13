package workertest

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/worker/embedded"
)

// Option changes the server StartServer and StartNATS start, or StartNATS's connection to it.
type Option func(*natsOptions)

type natsOptions struct {
	maxPayload int32
	storeDir   string
	conn       []nats.Option
}

// MaxPayload sets the largest message the server accepts; the default is the server's, 1 MB.
func MaxPayload(n int32) Option { return func(o *natsOptions) { o.maxPayload = n } }

// StoreDir puts the server's JetStream store in dir rather than in a t.TempDir of its own: for a
// test that starts a server again on the store it left.
func StoreDir(dir string) Option { return func(o *natsOptions) { o.storeDir = dir } }

// ConnOptions adds opts to StartNATS's connection: a worker's reconnect policy, say. StartServer
// makes no connection and ignores them.
func ConnOptions(opts ...nats.Option) Option {
	return func(o *natsOptions) { o.conn = append(o.conn, opts...) }
}

// StartServer starts an embedded NATS server with JetStream on a free loopback port, its store in
// t.TempDir() unless StoreDir says otherwise, and shuts it down, waiting until it has stopped,
// when the test ends. Shutting it down earlier, as a test of an outage does, is fine.
func StartServer(t testing.TB, opts ...Option) *embedded.Server {
	t.Helper()
	return startServer(t, collect(opts))
}

func collect(opts []Option) natsOptions {
	var o natsOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

func startServer(t testing.TB, o natsOptions) *embedded.Server {
	t.Helper()
	if o.storeDir == "" {
		o.storeDir = t.TempDir()
	}
	srv, err := embedded.Start(embedded.Config{Listen: "127.0.0.1:0", StoreDir: o.storeDir, MaxPayload: o.maxPayload})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// StartNATS starts a server as StartServer does and connects to it; the connection is closed
// when the test ends, before the server is shut down. dingq's streams are not created.
func StartNATS(t testing.TB, opts ...Option) (*embedded.Server, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	o := collect(opts)
	srv := startServer(t, o)
	nc, js := Connect(t, srv.ClientURL(), o.conn...)
	return srv, nc, js
}

// Connect opens a connection of its own to the server at url, as another worker process would,
// and closes it when the test ends.
func Connect(t testing.TB, url string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}
