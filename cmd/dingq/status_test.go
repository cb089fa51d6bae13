package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/dingq/dingq/dispatcher/sandbox"
	"github.com/dingq/dingq/schema"
)

// Every final outcome is announced on dingq.events.<kind>.<outcome> and read back by
// `dingq status`: sent, dead as rejected, exhausted and invalid, and pending for an id never seen.
func TestStatusReportsEachFinalOutcomeAndPublishesEvents(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	sub, err := h.js.Conn().SubscribeSync("dingq.events.>")
	if err != nil {
		t.Fatal(err)
	}
	h.start(env)
	for _, f := range []sandbox.Fault{
		{Contains: "st-reject", Preset: "reject"},
		{Contains: "st-exhaust", Preset: "busy"}, // every attempt
	} {
		if err := h.sb.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
	cards := strings.Join([]string{cardJob("st-ok"), cardJob("st-reject"), cardJob("st-exhaust")}, "\n")
	if code, out := cli(env, cards, "send", "card", "-"); code != 0 {
		t.Fatalf("send: exit %d: %s", code, out)
	}
	const oddID = "order 17/ü" // not a valid key: stored under its hash
	if code, out := cli(env, cardJob("st-odd"), "send", "card", "--id", oddID); code != 0 {
		t.Fatalf("send --id: exit %d: %s", code, out)
	}
	// A card missing its required fields, published past `dingq send`'s validation.
	invalid := &nats.Msg{Subject: "dingq.send.card", Data: []byte(`{"cardTemplateId":"x"}`), Header: nats.Header{}}
	invalid.Header.Set(schema.HeaderMsgID, "st-invalid")
	if _, err := h.js.PublishMsg(t.Context(), invalid); err != nil {
		t.Fatal(err)
	}

	events := map[string]map[string]any{}
	subjects := map[string]string{}
	retried := map[string]int{}
	for len(events) < 5 {
		m, err := sub.NextMsg(20 * time.Second)
		if err != nil {
			t.Fatalf("events so far %v: %v; output:\n%s", subjects, err, h.out)
		}
		var ev map[string]any
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatalf("event on %s is not JSON: %s", m.Subject, m.Data)
		}
		for _, s := range []string{appSecret, kdocsToken, "cardParamMap", "openConversationId"} {
			if strings.Contains(string(m.Data), s) {
				t.Errorf("event %s holds %q", m.Data, s)
			}
		}
		id, _ := ev["job_id"].(string)
		if strings.HasSuffix(m.Subject, ".retried") {
			retried[id]++
			continue
		}
		events[id], subjects[id] = ev, m.Subject
	}
	if len(retried) != 1 || retried["st-exhaust"] != 3 {
		t.Errorf("retried events %v; want 3 of st-exhaust, before its 4th and last attempt", retried)
	}
	want := map[string]struct {
		subject  string
		code     string
		http     float64
		attempts float64
	}{
		"st-ok":      {"dingq.events.card.sent", "", 0, 1},
		oddID:        {"dingq.events.card.sent", "", 0, 1},
		"st-reject":  {"dingq.events.card.rejected", "chatbotNotInstall", 400, 1},
		"st-exhaust": {"dingq.events.card.exhausted", "systemBusy", 500, 4},
		"st-invalid": {"dingq.events.card.invalid", "", 0, 0},
	}
	for id, w := range want {
		ev := events[id]
		if subjects[id] != w.subject || ev["kind"] != "card" || ev["attempts"] != w.attempts {
			t.Errorf("event of %s on %s: %v; want %s, kind card, attempts %v", id, subjects[id], ev, w.subject, w.attempts)
		}
		if w.code != "" && (ev["code"] != w.code || ev["http_status"] != w.http) {
			t.Errorf("event of %s: code %v, http_status %v; want %s, %v", id, ev["code"], ev["http_status"], w.code, w.http)
		}
		if at, _ := ev["at"].(string); !strings.HasSuffix(at, "Z") {
			t.Errorf("event of %s: at %q, want RFC 3339 UTC", id, at)
		} else if _, err := time.Parse(time.RFC3339, at); err != nil {
			t.Errorf("event of %s: at: %v", id, err)
		}
		if seq, _ := ev["stream_seq"].(float64); seq < 1 {
			t.Errorf("event of %s: stream_seq %v", id, ev["stream_seq"])
		}
		for k := range ev {
			if !strings.Contains(" job_id kind outcome code http_status attempts at stream_seq ", " "+k+" ") {
				t.Errorf("event of %s has the field %q", id, k)
			}
		}
	}
	if code, ok := events["st-invalid"]["code"].(string); !ok || code == "" {
		t.Errorf("invalid job's event names no code: %v", events["st-invalid"])
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"st-ok"}, `card job "st-ok": sent at `},
		{[]string{oddID}, `card job "order 17/ü": sent at `},
		{[]string{"st-reject"}, `card job "st-reject": dead (rejected, code chatbotNotInstall, HTTP 400) after 1 attempt, at `},
		{[]string{"st-exhaust"}, `card job "st-exhaust": dead (exhausted, code systemBusy, HTTP 500) after 4 attempts, at `},
		{[]string{"st-invalid"}, `card job "st-invalid": dead (invalid, code invalid_field) before any send, at `},
		{[]string{"--kind", "card", "st-reject"}, "the dead letter is on dingq.dead.card"},
	} {
		waitFor(t, 10*time.Second, "dingq status "+strings.Join(c.args, " "), func() bool {
			code, out := cli(env, "", append([]string{"status"}, c.args...)...)
			return code == 0 && strings.Contains(out, c.want)
		}, h.out)
	}
	for _, args := range [][]string{{"no-such-job"}, {"--kind", "robot", "st-ok"}} {
		code, out := cli(env, "", append([]string{"status"}, args...)...)
		if code != 0 || !strings.Contains(out, ": pending: no final outcome recorded") {
			t.Errorf("status %v: exit %d: %s; want pending, exit 0", args, code, out)
		}
	}

	code, out := cli(env, "", "status", "--json", "st-reject")
	var rec map[string]any
	if err := json.Unmarshal([]byte(out), &rec); code != 0 || err != nil {
		t.Fatalf("status --json: exit %d, %v: %s", code, err, out)
	}
	if rec["status"] != "dead" || rec["outcome"] != "rejected" || rec["code"] != "chatbotNotInstall" || rec["job_id"] != "st-reject" {
		t.Errorf("status --json = %v", rec)
	}
	if code, out := cli(env, "", "status", "--kind", "fax", "st-ok"); code != 2 || !strings.Contains(out, "unknown job kind") {
		t.Errorf("status --kind fax: exit %d: %s; want 2", code, out)
	}
	if code, out := cli(env, "", "status"); code != 2 || !strings.Contains(out, "want one job id") {
		t.Errorf("status without an id: exit %d: %s; want 2", code, out)
	}
}

// A job whose sends keep failing is pending while it waits for its next attempt: nothing final is
// recorded, and the only event is its retried attempt.
func TestStatusPendingWhileRetrying(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	env["DINGQ_BACKOFF_INITIAL"], env["DINGQ_BACKOFF_MAX"] = "1h", "1h"
	sub, err := h.js.Conn().SubscribeSync("dingq.events.>")
	if err != nil {
		t.Fatal(err)
	}
	h.start(env)
	if err := h.sb.AddFault(sandbox.Fault{Contains: "st-wait", Preset: "busy"}); err != nil {
		t.Fatal(err)
	}
	if code, out := cli(env, cardJob("st-wait"), "send", "card"); code != 0 {
		t.Fatalf("send: exit %d: %s", code, out)
	}
	waitFor(t, 10*time.Second, "the job's first retry", func() bool {
		for _, ev := range h.out.Events("retry") {
			if ev["job_id"] == "st-wait" {
				return true
			}
		}
		return false
	}, h.out)
	code, out := cli(env, "", "status", "st-wait")
	if code != 0 || !strings.Contains(out, `job "st-wait": pending`) {
		t.Errorf("status: exit %d: %s; want pending", code, out)
	}
	code, out = cli(env, "", "status", "--json", "--kind", "card", "st-wait")
	if code != 0 || strings.TrimSpace(out) != `{"status":"pending","job_id":"st-wait","kind":"card"}` {
		t.Errorf("status --json: exit %d: %s", code, out)
	}
	for {
		m, err := sub.NextMsg(10 * time.Millisecond)
		if err != nil {
			break
		}
		if m.Subject != "dingq.events.card.retried" {
			t.Errorf("a final event for a job still retrying: %s %s", m.Subject, m.Data)
		}
	}
}

// A named app's job is reported under its qualified id: `dingq send --app` prints it, the log and
// the status know it by it, and the bare id of another app's job with the same id is another job.
func TestStatusKnowsAnAppsJobByItsQualifiedID(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	env["DINGQ_APP_SALES_KEY"], env["DINGQ_APP_SALES_SECRET"] = "app-key", appSecret
	h.start(env)
	if code, out := cli(env, cardJob("st-app"), "send", "card", "--app", "sales", "--id", "st-app"); code != 0 || !strings.Contains(out, "job sales:st-app (stream DINGQ_JOBS_SALES") {
		t.Fatalf("send: exit %d: %s", code, out)
	}
	waitFor(t, 10*time.Second, "the job sent", func() bool { return h.sb.DeliveryCount("st-app") == 1 }, h.out)
	waitFor(t, 10*time.Second, "its status recorded", func() bool {
		code, out := cli(env, "", "status", "sales:st-app")
		return code == 0 && strings.Contains(out, `job "sales:st-app": sent`)
	}, h.out)
	if code, out := cli(env, "", "status", "st-app"); code == 0 && strings.Contains(out, "sent") {
		t.Errorf("the default app's job st-app reads as sent: %s", out)
	}
}
