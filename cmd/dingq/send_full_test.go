package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
)

// fullJobStream creates the streams as the workers do, without a worker to drain them, and gives
// the job stream the limits limit sets.
func (h *harness) fullJobStream(limit func(*jetstream.StreamConfig)) jetstream.Stream {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	names := schema.NewNames("")
	if _, err := worker.Provision(ctx, h.js, worker.Config{Names: names}); err != nil {
		h.t.Fatal(err)
	}
	s, err := h.js.Stream(ctx, names.JobStream())
	if err != nil {
		h.t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	if cfg.Discard != jetstream.DiscardNew {
		h.t.Fatalf("the workers' job stream discards %v, want DiscardNew", cfg.Discard)
	}
	limit(&cfg)
	if s, err = h.js.UpdateStream(ctx, cfg); err != nil {
		h.t.Fatal(err)
	}
	return s
}

// queuedCards returns the outTrackIds of the cards the job stream holds, in order.
func (h *harness) queuedCards(s jetstream.Stream) []string {
	h.t.Helper()
	info, err := s.Info(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	var ids []string
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(context.Background(), seq)
		if err != nil {
			h.t.Fatal(err)
		}
		var card struct{ OutTrackID string }
		if err := json.Unmarshal(m.Data, &card); err != nil {
			h.t.Fatal(err)
		}
		ids = append(ids, card.OutTrackID)
	}
	return ids
}

// sendInput runs `dingq send` with stdin and returns its exit code, stdout and stderr.
func sendInput(env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"send"}, args...), stdio{in: strings.NewReader(stdin), out: &out, err: &errb, getenv: mapEnv(env)})
	return code, out.String(), errb.String()
}

func TestSendToAFullJobStreamSaysWhichLinesWereNotQueued(t *testing.T) {
	h := newHarness(t)
	stream := h.fullJobStream(func(c *jetstream.StreamConfig) { c.MaxMsgs = 3 })
	// Five jobs over nine lines: a blank line, and the fourth job printed over three lines.
	pretty := "{\n  " + strings.TrimPrefix(strings.Replace(cardJob("full-4"), `,"robotCode"`, ",\n  \"robotCode\"", 1), "{") + "\n"
	input := cardJob("full-1") + "\n" + cardJob("full-2") + "\n\n" + cardJob("full-3") + "\n" + pretty + cardJob("full-5") + "\n"
	if lines := strings.Count(input, "\n"); lines != 8 {
		t.Fatalf("the input has %d lines, want 8", lines)
	}

	code, stdout, stderr := sendInput(h.env(), input, "card")
	t.Logf("stdout:\n%sstderr:\n%s", stdout, stderr)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(stdout, "published 3 card jobs") {
		t.Errorf("stdout %q does not count the 3 jobs queued", stdout)
	}
	for _, want := range []string{
		"dingq send: stdin line 5 (job 4 of 5, id full-4): job stream DINGQ_JOBS is full (max messages): job not queued\n",
		"3 job(s) queued before it; not queued: lines 5-8 (2 job(s)): send them again once the stream has room\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
	if got, want := h.queuedCards(stream), []string{"full-1", "full-2", "full-3"}; !slices.Equal(got, want) {
		t.Errorf("the job stream holds %q, want %q", got, want)
	}

	// Sent again, the queued jobs are duplicates by their ids, the rest is refused where it was,
	// and the stream is unchanged.
	code, stdout, stderr = sendInput(h.env(), input, "card")
	if code != 1 || !strings.Contains(stdout, "published 0 card jobs to dingq.send.card (3 duplicates dropped)") ||
		!strings.Contains(stderr, "stdin line 5 (job 4 of 5, id full-4): job stream DINGQ_JOBS is full (max messages)") ||
		!strings.Contains(stderr, "0 job(s) queued before it; not queued: lines 5-8 (2 job(s))") {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if got := h.queuedCards(stream); len(got) != 3 {
		t.Errorf("the job stream holds %q, want the first 3 jobs only", got)
	}
}

func TestSendOneJobToAFullJobStream(t *testing.T) {
	h := newHarness(t)
	stream := h.fullJobStream(func(c *jetstream.StreamConfig) { c.MaxBytes = 64 })
	code, stdout, stderr := sendInput(h.env(), cardJob("too-many"), "card", "--id", "one-1")
	if code != 1 || stdout != "" {
		t.Errorf("exit %d, stdout %q; want 1 and nothing", code, stdout)
	}
	if want := "dingq send: publish card job one-1: job stream DINGQ_JOBS is full (max bytes): job not queued\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	if got := h.queuedCards(stream); len(got) != 0 {
		t.Errorf("the job stream holds %q, want nothing", got)
	}
}
