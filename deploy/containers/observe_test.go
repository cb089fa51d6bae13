//go:build containers

package containers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/testcontainers/testcontainers-go"

	"github.com/dingq/dingq/dispatcher/sandbox"
	"github.com/dingq/dingq/schema"
)

// sandboxClient reads the sandbox container's control API.
type sandboxClient struct {
	base string
	http *http.Client
}

// delivery is an entry of GET /_sandbox/deliveries.
type delivery struct {
	Kind string    `json:"kind"`
	Key  string    `json:"key"`
	At   time.Time `json:"at"`
}

func (c *sandboxClient) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (c *sandboxClient) stats(ctx context.Context) (sandbox.Stats, error) {
	var st sandbox.Stats
	return st, c.get(ctx, "/_sandbox/stats", &st)
}

// cardDeliveries lists the card deliveries the sandbox keeps: the latest 10,000, every one in
// these tests.
func (c *sandboxClient) cardDeliveries(ctx context.Context) ([]delivery, error) {
	var ds []delivery
	return ds, c.get(ctx, "/_sandbox/deliveries?kind=card", &ds)
}

// distinctDelivered is how many distinct jobs the sandbox has accepted.
func distinctDelivered(st sandbox.Stats) int {
	n := 0
	for _, d := range st.Deliveries {
		n += d
	}
	return n - st.Duplicates
}

// deadCount is how many dead letters DINGQ_DEAD holds.
func deadCount(ctx context.Context, js jetstream.JetStream) (uint64, error) {
	s, err := js.Stream(ctx, "DINGQ_DEAD")
	if err != nil {
		return 0, err
	}
	return s.CachedInfo().State.Msgs, nil
}

// deadLetters returns the job id and reason of every dead letter.
func deadLetters(ctx context.Context, js jetstream.JetStream) (map[string]string, error) {
	n, err := deadCount(ctx, js)
	if err != nil || n == 0 {
		return map[string]string{}, err
	}
	c, err := js.OrderedConsumer(ctx, "DINGQ_DEAD", jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for uint64(len(out)) < n {
		batch, err := c.Fetch(int(n)-len(out), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, err
		}
		got := 0
		for m := range batch.Messages() {
			out[m.Headers().Get(schema.HeaderJobID)] = m.Headers().Get(schema.HeaderReason)
			got++
		}
		if err := batch.Error(); err != nil {
			return nil, err
		}
		if got == 0 {
			return nil, fmt.Errorf("read %d of %d dead letters", len(out), n)
		}
	}
	return out, nil
}

// jobStreamLeft is how many jobs the work queue still holds.
func jobStreamLeft(ctx context.Context, js jetstream.JetStream) (uint64, error) {
	s, err := js.Stream(ctx, "DINGQ_JOBS")
	if err != nil {
		return 0, err
	}
	return s.CachedInfo().State.Msgs, nil
}

// consumerLeader names the node that leads the workers' card consumer (the tests publish cards):
// it holds the delivery and ack state, and its loss is the one that interrupts deliveries.
func consumerLeader(ctx context.Context, js jetstream.JetStream) (string, error) {
	c, err := js.Consumer(ctx, "DINGQ_JOBS", "dingq-worker-card")
	if err != nil {
		return "", err
	}
	return leaderOf(c.CachedInfo().Cluster, "consumer dingq-worker-card")
}

// streamLeader names the node that leads the job stream: it stores every job, and removes it
// when its ack arrives.
func streamLeader(ctx context.Context, js jetstream.JetStream) (string, error) {
	s, err := js.Stream(ctx, "DINGQ_JOBS")
	if err != nil {
		return "", err
	}
	return leaderOf(s.CachedInfo().Cluster, "stream DINGQ_JOBS")
}

func leaderOf(c *jetstream.ClusterInfo, what string) (string, error) {
	if c == nil || c.Leader == "" {
		return "", fmt.Errorf("%s has no leader", what)
	}
	return c.Leader, nil
}

// workerFigures is what the workers' logs tell: jobs JetStream delivered more than once, and
// what became of those redeliveries.
type workerFigures struct {
	redelivered map[string]bool // job ids handled at attempt 2 or later
	alreadySent int             // redeliveries the sent-record caught: acked, not sent again
	unconfirmed int             // sends whose ack JetStream did not confirm
	servers     []string        // the node each worker first connected to
}

// readWorkerLogs reads every worker's whole log (JSON lines), stopped workers' included.
func readWorkerLogs(workers []*testcontainers.DockerContainer) workerFigures {
	f := workerFigures{redelivered: map[string]bool{}}
	for i, w := range workers {
		server := "?"
		for line := range strings.Lines(containerLog(w)) {
			var ev struct {
				Message string `json:"message"`
				JobID   string `json:"job_id"`
				Attempt int    `json:"attempt"`
				Server  string `json:"server"`
				Jobs    int    `json:"jobs"`
			}
			if json.Unmarshal([]byte(line), &ev) != nil {
				continue
			}
			switch {
			case ev.Message == "connected to NATS" && server == "?":
				server = ev.Server
			case strings.HasPrefix(ev.Message, "already sent"):
				f.alreadySent++
			case strings.HasPrefix(ev.Message, "acks not confirmed"):
				f.unconfirmed += ev.Jobs
			}
			if ev.JobID != "" && ev.Attempt >= 2 {
				f.redelivered[ev.JobID] = true
			}
		}
		f.servers = append(f.servers, fmt.Sprintf("worker-%d on %s", i+1, server))
	}
	return f
}

// containerLog returns a container's whole log, or why it cannot.
func containerLog(c *testcontainers.DockerContainer) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := c.Logs(ctx)
	if err != nil {
		return err.Error()
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return string(b) + "\n" + err.Error()
	}
	return string(b)
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
