package worker_test

import (
	"sync"
	"testing"
	"time"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
)

// OnOutcome hears every delivery's result: a retry then a send, a rejection once its dead letter
// is stored, and an invalid job.
func TestOnOutcomeReportsEveryDelivery(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	got := map[string][]worker.Outcome{}
	s := newScript().on("out-busy", busy).on("out-bad", reject)
	e.runWith(testConfig(), worker.Deps{Sender: s, OnOutcome: func(o worker.Outcome) {
		mu.Lock()
		defer mu.Unlock()
		got[o.JobID] = append(got[o.JobID], o)
	}})
	e.publish(schema.KindCard, card("out-busy"), nil)
	e.publish(schema.KindCard, card("out-bad"), nil)
	e.publish(schema.KindCard, `{"not":"a card","outTrackId":"out-invalid"}`, nil)
	e.waitFor(10*time.Second, "three final outcomes", func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, os := range got {
			if os[len(os)-1].Final() {
				n++
			}
		}
		return n == 3
	})
	mu.Lock()
	defer mu.Unlock()
	results := func(id string) (rs []string) {
		for _, o := range got[id] {
			rs = append(rs, o.Result+"/"+o.Code)
		}
		return rs
	}
	for id, want := range map[string][]string{
		"out-busy":    {"retried/systemBusy", "sent/"},
		"out-bad":     {"rejected/chatbotNotInstall"},
		"out-invalid": {"invalid/invalid_field"},
	} {
		if g := results(id); len(g) != len(want) || g[0] != want[0] || g[len(g)-1] != want[len(want)-1] {
			t.Errorf("%s: %v, want %v", id, g, want)
		}
	}
	if o := got["out-busy"][1]; o.Kind != "card" || o.Attempt != 2 || o.StreamSeq == 0 {
		t.Errorf("sent outcome %+v, want kind card, attempt 2 and its stream sequence", o)
	}
}
