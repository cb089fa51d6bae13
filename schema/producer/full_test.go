package producer_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/schema/producer"
	"github.com/dingq/dingq/worker"
)

// limitedJobStream starts NATS, creates the streams as the workers do for names, then gives the
// job stream the limits limit sets; it returns the JetStream client and the job stream.
func limitedJobStream(t *testing.T, names schema.Names, limit func(*jetstream.StreamConfig)) (jetstream.JetStream, jetstream.Stream) {
	t.Helper()
	js := startJetStream(t)
	if _, err := worker.Provision(testContext(t), js, worker.Config{Names: names}); err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(testContext(t), names.JobStream())
	if err != nil {
		t.Fatal(err)
	}
	cfg := stream.CachedInfo().Config
	if cfg.Discard != jetstream.DiscardNew {
		t.Fatalf("the workers' job stream discards %v, want DiscardNew: a full stream must refuse new jobs", cfg.Discard)
	}
	limit(&cfg)
	if stream, err = js.UpdateStream(testContext(t), cfg); err != nil {
		t.Fatal(err)
	}
	return js, stream
}

// publishUntilRefused publishes distinct cards until one is refused, at most 1,000; it returns
// how many were queued and the refusal.
func publishUntilRefused(t *testing.T, p *producer.Producer, prefix string) (int, error) {
	t.Helper()
	for i := range 1000 {
		if _, err := p.Publish(testContext(t), producer.Card(templateCard(fmt.Sprintf("%s-%d", prefix, i)))); err != nil {
			return i, err
		}
	}
	t.Fatal("1,000 jobs queued: the stream never filled")
	return 0, nil
}

func TestPublishToAFullJobStreamFailsWithErrStreamFull(t *testing.T) {
	cases := []struct {
		name   string
		prefix string // the subject prefix, "" for the default
		limit  func(*jetstream.StreamConfig)
		queued int // jobs that fit; -1: some
		want   string
	}{
		{"max messages", "", func(c *jetstream.StreamConfig) { c.MaxMsgs = 3 }, 3,
			"job stream DINGQ_JOBS is full (max messages): job not queued"},
		{"max bytes", "", func(c *jetstream.StreamConfig) { c.MaxBytes = 2048 }, -1,
			"job stream DINGQ_JOBS is full (max bytes): job not queued"},
		{"the stream of a prefix", "staging", func(c *jetstream.StreamConfig) { c.MaxMsgs = 1 }, 1,
			"job stream STAGING_JOBS is full (max messages): job not queued"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			js, stream := limitedJobStream(t, schema.NewNames(c.prefix), c.limit)
			p := newProducer(t, js, producer.WithSubjectPrefix(c.prefix))
			queued, err := publishUntilRefused(t, p, "order")
			if c.queued >= 0 && queued != c.queued || queued == 0 {
				t.Fatalf("%d jobs queued before the refusal, want %d", queued, c.queued)
			}
			if !errors.Is(err, producer.ErrStreamFull) {
				t.Fatalf("got %v, want an error wrapping producer.ErrStreamFull", err)
			}
			refused := fmt.Sprintf("order-%d", queued)
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), refused) {
				t.Errorf("%q does not say %q, nor name the job %s", err, c.want, refused)
			}
			// JetStream's own error stays in the chain.
			var apiErr *jetstream.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode != 10077 {
				t.Errorf("%v: want JetStream's API error 10077 in the chain", err)
			}
			if n := messages(t, stream); n != uint64(queued) {
				t.Fatalf("the stream holds %d jobs, want the %d queued before the refusal", n, queued)
			}

			// A full stream refuses every new job, the refused one again too, and queues nothing.
			for _, id := range []string{refused, "another"} {
				if _, err := p.Publish(testContext(t), producer.Card(templateCard(id))); !errors.Is(err, producer.ErrStreamFull) {
					t.Fatalf("publish %s to the full stream: got %v, want producer.ErrStreamFull", id, err)
				}
			}
			if n := messages(t, stream); n != uint64(queued) {
				t.Fatalf("the stream holds %d jobs after more refusals, want %d", n, queued)
			}

			// Once the workers have made room, the refused job goes through.
			if err := stream.Purge(testContext(t)); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Publish(testContext(t), producer.Card(templateCard(refused))); err != nil {
				t.Fatalf("publish %s once the stream has room: %v", refused, err)
			}
		})
	}
}

// A stream that refuses a job for another reason is not full: its error is unchanged.
func TestPublishTooLargeForTheStreamIsNotErrStreamFull(t *testing.T) {
	js, stream := limitedJobStream(t, schema.Names{}, func(c *jetstream.StreamConfig) { c.MaxMsgSize = 64 })
	p := newProducer(t, js)
	_, err := p.Publish(testContext(t), producer.Card(templateCard("order-1")))
	if err == nil || errors.Is(err, producer.ErrStreamFull) {
		t.Fatalf("got %v, want an error other than producer.ErrStreamFull", err)
	}
	if !errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum) {
		t.Errorf("got %v, want JetStream's %v", err, jetstream.ErrStreamMessageExceedsMaximum)
	}
	if n := messages(t, stream); n != 0 {
		t.Fatalf("the stream holds %d jobs, want 0", n)
	}
}

func TestStreamFullRecognizesOnlyAFullStream(t *testing.T) {
	apiErr := func(code jetstream.ErrorCode, desc string) error {
		return fmt.Errorf("nats: %w", &jetstream.APIError{Code: 503, ErrorCode: code, Description: desc})
	}
	cases := []struct {
		err  error
		want string // "" for not full
	}{
		{apiErr(10077, "maximum bytes exceeded"), "job stream S is full (max bytes): job not queued"},
		{apiErr(10077, "maximum messages exceeded"), "job stream S is full (max messages): job not queued"},
		{apiErr(10077, "maximum messages per subject exceeded"), "job stream S is full (max messages per subject): job not queued"},
		// The async publish's ack carries the API error itself.
		{&jetstream.APIError{Code: 503, ErrorCode: 10077, Description: "maximum bytes exceeded"}, "job stream S is full (max bytes): job not queued"},
		{apiErr(10077, "message too large"), ""},
		{apiErr(10023, "insufficient resources"), ""},
		{apiErr(10054, "maximum bytes exceeded"), ""},
		{errors.New("maximum bytes exceeded"), ""},
		{jetstream.ErrNoStreamResponse, ""},
		{nil, ""},
	}
	for _, c := range cases {
		got := producer.StreamFull("S", c.err)
		switch {
		case c.want == "" && got != nil:
			t.Errorf("StreamFull(%v) = %v, want nil", c.err, got)
		case c.want != "" && (got == nil || got.Error() != c.want || !errors.Is(got, producer.ErrStreamFull) || !errors.Is(got, c.err)):
			t.Errorf("StreamFull(%v) = %v, want %q wrapping producer.ErrStreamFull and the error", c.err, got, c.want)
		}
	}
}
