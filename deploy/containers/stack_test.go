//go:build containers

package containers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

// stackConfig shapes the deployment under test.
type stackConfig struct {
	workers        int           // dingq serve containers
	ackWait        time.Duration // DINGQ_ACK_WAIT: how soon a job whose worker went away comes back
	concurrency    int           // DINGQ_CONCURRENCY of each worker
	sandboxLatency time.Duration // how long the sandbox takes to answer a send
}

// stack is one deployment: a Docker network, three NATS nodes, the sandbox, the workers, and a
// client of the cluster through the nodes' mapped client ports.
type stack struct {
	docker  *testcontainers.DockerClient
	net     *testcontainers.DockerNetwork
	nodes   []*natsNode
	sandbox *sandboxClient
	workers []*testcontainers.DockerContainer
	host    string    // where this process reaches the containers' published ports
	faulted *natsNode // the node the last node fault hit
	nc      *nats.Conn
	js      jetstream.JetStream
}

// natsNode is a NATS server of the cluster. name is its server_name and its address on the
// network; ip is kept so that a partitioned node comes back with the same address, as a node
// behind a failed link would.
type natsNode struct {
	name string
	c    *testcontainers.DockerContainer
	ip   string
}

// startStack starts every container and waits until both workers answer /readyz and the job
// stream exists with three replicas. Everything is removed when the test ends.
func startStack(t *testing.T, cfg stackConfig) *stack {
	t.Helper()
	began := time.Now()
	s := &stack{docker: dockerClient(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s.net = newNetwork(ctx, t)
	s.startNATS(ctx, t)
	s.startSandbox(ctx, t, cfg)
	for i := range cfg.workers {
		s.startWorker(ctx, t, cfg, fmt.Sprintf("worker-%d", i+1))
	}
	s.connect(ctx, t)
	t.Logf("up in %v: nats-1, nats-2 and nats-3 (JetStream, file store, R3), the sandbox, %d workers; published ports at %s",
		time.Since(began).Round(100*time.Millisecond), cfg.workers, s.host)
	return s
}

// newNetwork creates a bridge network with a subnet of its own: Docker gives a container a
// chosen address back on reconnect only on a network whose subnet was given.
func newNetwork(ctx context.Context, t *testing.T) *testcontainers.DockerNetwork {
	t.Helper()
	var lastErr error
	for range 8 {
		subnet := fmt.Sprintf("10.%d.%d.0/24", 200+rand.IntN(50), rand.IntN(256))
		nw, err := tcnetwork.New(ctx, tcnetwork.WithIPAM(&network.IPAM{Config: []network.IPAMConfig{{Subnet: subnet}}}))
		testcontainers.CleanupNetwork(t, nw)
		if err == nil {
			return nw
		}
		lastErr = err // most likely a subnet in use: try another
	}
	t.Fatalf("create a Docker network: %v", lastErr)
	return nil
}

// run starts a container from a local image, removed when the test ends. Before the removal,
// its log is kept in the -logs directory, if one is given, and, if the test failed, its tail is
// printed.
func run(ctx context.Context, t *testing.T, role string, req testcontainers.ContainerRequest) *testcontainers.DockerContainer {
	t.Helper()
	req.Name = uniqueName(t, role)
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: req, Started: true, Logger: quiet})
	testcontainers.CleanupContainer(t, c)
	dc, _ := c.(*testcontainers.DockerContainer)
	if dc != nil {
		t.Cleanup(func() { keepLog(t, role, dc) }) // cleanups run last first: before the removal
	}
	if err != nil {
		t.Fatalf("start %s: %v", role, err)
	}
	return dc
}

// keepLog writes a container's log to the -logs directory, and prints its tail if t failed.
func keepLog(t *testing.T, role string, c *testcontainers.DockerContainer) {
	if !t.Failed() && *logDir == "" {
		return
	}
	log := containerLog(c)
	if t.Failed() {
		t.Logf("--- %s: the last lines of its log\n%s", role, tail(log, 60))
	}
	if *logDir != "" {
		path := filepath.Join(*logDir, t.Name()+"-"+role+".log")
		if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
			t.Errorf("keep the log of %s: %v", role, err)
		}
	}
}

// startNATS runs nats-1, nats-2 and nats-3 from the image's own cluster configuration (file
// store in /data, routes to the others by name) and waits until each reports JetStream healthy,
// which needs a metadata leader and so the cluster formed.
func (s *stack) startNATS(ctx context.Context, t *testing.T) {
	t.Helper()
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("nats-%d", i)
		c := run(ctx, t, name, testcontainers.ContainerRequest{
			Image:          natsImage,
			Cmd:            []string{"--config", "/etc/nats/" + name + ".conf"},
			Networks:       []string{s.net.Name},
			NetworkAliases: map[string][]string{s.net.Name: {name}},
			ExposedPorts:   []string{"4222/tcp", "8222/tcp"},
			WaitingFor:     wait.ForLog("Server is ready").WithStartupTimeout(time.Minute),
		})
		if s.host == "" {
			s.host = reachableHost(ctx, t, c, "4222/tcp")
		}
		ip, err := containerIP(ctx, c, s.net.Name)
		if err != nil {
			t.Fatal(err)
		}
		s.nodes = append(s.nodes, &natsNode{name: name, c: c, ip: ip})
	}
	for _, n := range s.nodes {
		url := s.endpoint(ctx, t, n.c, "8222/tcp", "http")
		eventually(t, 2*time.Minute, 500*time.Millisecond, n.name+" JetStream healthy at "+url+"/healthz", func() bool {
			return httpOK(ctx, url+"/healthz")
		})
	}
}

func (s *stack) startSandbox(ctx context.Context, t *testing.T, cfg stackConfig) {
	t.Helper()
	c := run(ctx, t, "sandbox", testcontainers.ContainerRequest{
		Image: dingqImage,
		Cmd: []string{"sandbox", "--sandbox-listen", "0.0.0.0:8089",
			"--sandbox-latency", cfg.sandboxLatency.String()},
		Networks:       []string{s.net.Name},
		NetworkAliases: map[string][]string{s.net.Name: {"sandbox"}},
		ExposedPorts:   []string{"8089/tcp"},
		WaitingFor:     wait.ForHTTP("/_sandbox/stats").WithPort("8089/tcp").WithStartupTimeout(time.Minute),
	})
	s.sandbox = &sandboxClient{base: s.endpoint(ctx, t, c, "8089/tcp", "http"), http: &http.Client{Timeout: 10 * time.Second}}
}

// startWorker runs `dingq serve` against the cluster and the sandbox, and waits for /readyz:
// connected, consuming, streams and consumer present.
func (s *stack) startWorker(ctx context.Context, t *testing.T, cfg stackConfig, name string) {
	t.Helper()
	c := run(ctx, t, name, testcontainers.ContainerRequest{
		Image: dingqImage,
		Cmd:   []string{"serve"},
		Env: map[string]string{
			"DINGQ_NATS_URL":            "nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222",
			"DINGQ_REPLICAS":            "3",
			"DINGQ_ACK_WAIT":            cfg.ackWait.String(),
			"DINGQ_CONCURRENCY":         fmt.Sprint(cfg.concurrency),
			"DINGQ_RATE_API":            "off",
			"DINGQ_DINGTALK_API_URL":    "http://sandbox:8089",
			"DINGQ_DINGTALK_OAPI_URL":   "http://sandbox:8089",
			"DINGQ_KDOCS_API_URL":       "http://sandbox:8089",
			"DINGQ_DINGTALK_APP_KEY":    "sandbox-app-key",
			"DINGQ_DINGTALK_APP_SECRET": "sandbox-app-secret",
			"DINGQ_LOG_LEVEL":           "info",
		},
		Networks:       []string{s.net.Name},
		NetworkAliases: map[string][]string{s.net.Name: {name}},
		ExposedPorts:   []string{"9090/tcp"},
		WaitingFor: wait.ForHTTP("/readyz").WithPort("9090/tcp").
			WithStartupTimeout(2 * time.Minute).WithPollInterval(500 * time.Millisecond),
	})
	s.workers = append(s.workers, c)
}

// connect connects the test to the cluster through the three mapped client ports. The addresses
// the servers advertise are the containers' own, so they are ignored.
func (s *stack) connect(ctx context.Context, t *testing.T) {
	t.Helper()
	var urls []string
	for _, n := range s.nodes {
		urls = append(urls, s.endpoint(ctx, t, n.c, "4222/tcp", "nats"))
	}
	nc, err := nats.Connect(strings.Join(urls, ","),
		nats.Name("dingq-containers-test"),
		nats.IgnoreDiscoveredServers(),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		// A node cut off the network leaves a silent connection: notice within seconds.
		nats.PingInterval(time.Second), nats.MaxPingsOutstanding(3))
	if err != nil {
		t.Fatalf("connect to the cluster at %v: %v", urls, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s.nc, s.js = nc, js
	stream, err := js.Stream(ctx, "DINGQ_JOBS")
	if err != nil {
		t.Fatalf("the job stream: %v", err)
	}
	if r := stream.CachedInfo().Config.Replicas; r != 3 {
		t.Fatalf("DINGQ_JOBS has %d replicas, want 3 (DINGQ_REPLICAS)", r)
	}
}

// reachableHost finds where this process reaches the published ports, by dialling one, and
// tells testcontainers (whose wait strategies dial them too). Its own guess is the Docker host
// or, inside a container, the default gateway; that misses where a container shares the Docker
// engine's network (as on our CI machine), and there localhost is right. TESTCONTAINERS_HOST_OVERRIDE,
// when set, is used as it is.
func reachableHost(ctx context.Context, t *testing.T, c *testcontainers.DockerContainer, port nat.Port) string {
	t.Helper()
	if h, ok := os.LookupEnv("TESTCONTAINERS_HOST_OVERRIDE"); ok {
		return h
	}
	mapped, err := c.MappedPort(ctx, port)
	if err != nil {
		t.Fatal(err)
	}
	guess, err := c.Host(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{guess, "localhost"} {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(h, mapped.Port()), 2*time.Second)
		if err == nil {
			conn.Close()
			t.Setenv("TESTCONTAINERS_HOST_OVERRIDE", h)
			return h
		}
	}
	t.Fatalf("published port %s reachable neither at %s nor at localhost; set TESTCONTAINERS_HOST_OVERRIDE", mapped, guess)
	return ""
}

// endpoint is the URL of a container's published port.
func (s *stack) endpoint(ctx context.Context, t *testing.T, c *testcontainers.DockerContainer, port nat.Port, scheme string) string {
	t.Helper()
	mapped, err := c.MappedPort(ctx, port)
	if err != nil {
		t.Fatal(err)
	}
	return scheme + "://" + net.JoinHostPort(s.host, mapped.Port())
}

// uniqueName names a container after its role and the test, so that `docker ps` tells them
// apart and two runs never clash.
func uniqueName(t *testing.T, role string) string {
	return fmt.Sprintf("dingq-%s-%s-%04x", strings.ToLower(t.Name()), role, rand.IntN(1<<16))
}

func containerIP(ctx context.Context, c *testcontainers.DockerContainer, networkName string) (string, error) {
	info, err := c.Inspect(ctx)
	if err != nil {
		return "", err
	}
	ep, ok := info.NetworkSettings.Networks[networkName]
	if !ok || ep.IPAddress == "" {
		return "", fmt.Errorf("container %s has no address on %s", c.GetContainerID()[:12], networkName)
	}
	return ep.IPAddress, nil
}

// httpOK reports whether GET url answers 200 within two seconds.
func httpOK(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
