package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
)

// startWorker runs a worker with deps and returns it, so that a test can ask it whether it is ready.
func (e *env) startWorker(cfg worker.Config, deps worker.Deps) *worker.Worker {
	e.t.Helper()
	w := e.newWorker(cfg, deps)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
	e.waitFor(10*time.Second, "worker ready", func() bool { return w.Ready() == nil })
	return w
}

// Every resource a worker uses, deleted under it, is provisioned again while it runs, counted for
// the metric, and the worker keeps sending: jobs published afterwards are all sent.
func TestDeletedResourcesAreProvisionedAgain(t *testing.T) {
	for _, tc := range []struct {
		name   string
		delete func(js jetstream.JetStream) error
	}{
		{"job stream", func(js jetstream.JetStream) error { return js.DeleteStream(context.Background(), names.JobStream()) }},
		{"consumer", func(js jetstream.JetStream) error {
			return js.DeleteConsumer(context.Background(), names.JobStream(), names.ConsumerFor(schema.KindCard))
		}},
		{"dead-letter stream", func(js jetstream.JetStream) error { return js.DeleteStream(context.Background(), names.DeadStream()) }},
		{"limits bucket", func(js jetstream.JetStream) error {
			return js.DeleteKeyValue(context.Background(), names.LimitBucket())
		}},
		{"sent bucket", func(js jetstream.JetStream) error { return js.DeleteKeyValue(context.Background(), names.SentBucket()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			s := newScript()
			repaired := make(chan string, 16)
			w := e.startWorker(testConfig(), worker.Deps{Sender: s, OnRepair: func(r string) { repaired <- r }})
			e.publish(schema.KindCard, card("before"), nil)
			e.waitFor(5*time.Second, "the first job sent", func() bool { return s.count("before") == 1 })

			if err := tc.delete(e.js); err != nil {
				t.Fatal(err)
			}
			select {
			case r := <-repaired:
				t.Logf("repaired %s", r)
			case <-time.After(10 * time.Second):
				t.Fatalf("nothing provisioned again within 10 s; log:\n%s", e.log)
			}
			e.waitFor(10*time.Second, "ready again", func() bool { return w.Ready() == nil })
			for _, id := range []string{"after-1", "after-2", "after-3"} {
				e.publish(schema.KindCard, card(id), nil)
			}
			e.waitFor(15*time.Second, "the jobs published after the repair sent", func() bool {
				return s.count("after-1") == 1 && s.count("after-2") == 1 && s.count("after-3") == 1
			})
		})
	}
}

// A job stream created anew starts its sequences over. The dead letters of its jobs must not be
// taken for duplicates of the old stream's letters (same sequence) and dropped.
func TestRecreatedJobStreamKeepsDeadLettersApart(t *testing.T) {
	e := newEnv(t)
	s := newScript().on("old-1", reject).on("new-1", reject)
	w := e.startWorker(testConfig(), worker.Deps{Sender: s})
	e.publish(schema.KindCard, card("old-1"), nil)
	e.waitFor(10*time.Second, "the first letter", func() bool { return len(e.deadLetters()) == 1 })

	if err := e.js.DeleteStream(context.Background(), names.JobStream()); err != nil {
		t.Fatal(err)
	}
	e.waitFor(10*time.Second, "ready again", func() bool {
		_, err := e.js.Stream(context.Background(), names.JobStream())
		return err == nil && w.Ready() == nil
	})
	e.publish(schema.KindCard, card("new-1"), nil) // stored at sequence 1 again
	e.waitFor(10*time.Second, "the second letter", func() bool { return len(e.deadLetters()) == 2 })
	ids := map[string]bool{}
	for _, dl := range e.deadLetters() {
		ids[dl.Header.Get(schema.HeaderJobID)] = true
	}
	if !ids["old-1"] || !ids["new-1"] {
		t.Errorf("letters for %v, want old-1 and new-1", ids)
	}
}

// A full dead-letter stream: the rejected job is kept and never sent again, the worker says it
// is not ready, and once the stream has room the letter is stored with DingTalk's reason and code
// and the attempt it was rejected on, not rewritten as exhausted.
func TestFullDeadLetterStreamKeepsTheDecision(t *testing.T) {
	e := newEnv(t)
	cfg := testConfig()
	s := newScript().on("first", reject).on("held", busy, reject)
	w := e.startWorker(cfg, worker.Deps{Sender: s})
	dead, err := e.js.Stream(context.Background(), names.DeadStream())
	if err != nil {
		t.Fatal(err)
	}
	full := dead.CachedInfo().Config
	full.MaxMsgs, full.Discard = 1, jetstream.DiscardNew
	if _, err := e.js.UpdateStream(context.Background(), full); err != nil {
		t.Fatal(err)
	}
	e.publish(schema.KindCard, card("first"), nil)
	e.waitFor(10*time.Second, "the first letter", func() bool { return len(e.deadLetters()) == 1 })

	e.publish(schema.KindCard, card("held"), nil)
	e.waitFor(10*time.Second, "the letter refused twice", func() bool {
		return len(e.log.Events("dead-letter publish failed; job kept, its letter published again later")) >= 2
	})
	e.waitFor(10*time.Second, "not ready", func() bool {
		err := w.Ready()
		return err != nil && strings.Contains(err.Error(), "dead letters cannot be stored")
	})
	if n := s.count("held"); n != 2 {
		t.Errorf("sends = %d, want 2 (busy, then rejected): a rejected job is never sent again", n)
	}

	full.MaxMsgs = -1
	if _, err := e.js.UpdateStream(context.Background(), full); err != nil {
		t.Fatal(err)
	}
	e.waitFor(20*time.Second, "the held letter", func() bool { return len(e.deadLetters()) == 2 })
	dl := e.deadLetters()[1]
	h := dl.Header
	if h.Get(schema.HeaderJobID) != "held" || h.Get(schema.HeaderReason) != "rejected" ||
		h.Get(schema.HeaderErrorCode) != "chatbotNotInstall" || h.Get(schema.HeaderAttempts) != "2" || h.Get(schema.HeaderHTTPStatus) != "400" {
		t.Errorf("letter headers = %v; want held, rejected, chatbotNotInstall, 2 attempts, http 400", h)
	}
	e.waitFor(10*time.Second, "ready again", func() bool { return w.Ready() == nil })
	if n := s.count("held"); n != 2 {
		t.Errorf("sends = %d, want 2", n)
	}
}
