package dispatcher_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dingq/dingq/dispatcher"
)

// A robot job that failed part-way says how many of its messages are posted, and the next attempt,
// told so in Job.Posted, starts after them.
func TestWebhookResumesAfterPostedMessages(t *testing.T) {
	msgs := []string{
		`{"msgtype":"text","text":{"content":"zero"}}`,
		`{"msgtype":"text","text":{"content":"one"}}`,
		`{"msgtype":"text","text":{"content":"two"}}`,
	}
	calls := 0
	api := newFakeAPI(t, func(request) (int, string) {
		calls++
		if calls == 2 {
			return 200, `{"errcode":-1,"errmsg":"busy"}`
		}
		return 200, `{"errcode":0,"errmsg":"ok"}`
	})
	s := newWebhookSender(t, api.URL, nil)
	job := linkJob("resume-1", hookToken, "", msgs...)

	err := s.Send(context.Background(), job)
	posted, ok := dispatcher.PostedOf(err)
	if !ok || posted != 1 || dispatcher.DecisionOf(err) != dispatcher.Retry {
		t.Fatalf("first attempt: err %v, posted %d (%v), want busy after 1 posted", err, posted, ok)
	}
	job.Attempt, job.Posted = 2, posted
	if err := s.Send(context.Background(), job); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	got := api.got()
	if len(got) != 4 {
		t.Fatalf("%d requests, want 4 (one, busy, then the remaining two)", len(got))
	}
	for i, want := range []string{"zero", "one", "one", "two"} {
		if !strings.Contains(string(got[i].body), want) {
			t.Errorf("request %d: %s, want message %q", i, got[i].body, want)
		}
	}
}
