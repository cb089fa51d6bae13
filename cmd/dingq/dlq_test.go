package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/dingq/dingq/dispatcher/sandbox"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/deadletters"
	"github.com/dingq/dingq/worker/workertest"
)

// cliSplit runs a short command and returns its exit code, stdout and stderr apart.
func cliSplit(env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, err: &errb, getenv: mapEnv(env)})
	return code, out.String(), errb.String()
}

// streamMsgs returns how many messages a stream holds.
func (h *harness) streamMsgs(name string) uint64 {
	h.t.Helper()
	s, err := h.js.Stream(context.Background(), name)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return info.State.Msgs
}

func (h *harness) waitDeadLetters(n uint64) {
	h.t.Helper()
	waitFor(h.t, 20*time.Second, fmt.Sprintf("%d dead letters", n), func() bool { return h.streamMsgs("DINGQ_DEAD") == n }, h.out)
}

// waitIdle waits until the default app's job stream is empty and its consumers hold nothing
// pending or unacknowledged: no job is left to be delivered, so delivery counts are final.
func (h *harness) waitIdle() {
	h.t.Helper()
	names := schema.NewNames("")
	waitFor(h.t, 20*time.Second, "the workers idle", func() bool {
		for _, k := range schema.Kinds() {
			c, err := h.js.Consumer(context.Background(), names.JobStream(), names.ConsumerFor(k))
			if err != nil {
				return false
			}
			info, err := c.Info(context.Background())
			if err != nil || info.NumPending != 0 || info.NumAckPending != 0 {
				return false
			}
		}
		return h.streamMsgs(names.JobStream()) == 0
	}, h.out)
}

// rejectCards makes the sandbox reject cards holding marker, sends one card per id, and waits
// for their dead letters (plus the `before` already there).
func (h *harness) rejectCards(env map[string]string, marker string, before uint64, ids ...string) {
	h.t.Helper()
	if err := h.sb.AddFault(sandbox.Fault{Kind: schema.KindCard, Contains: marker, Preset: sandbox.PresetReject}); err != nil {
		h.t.Fatal(err)
	}
	var cards []string
	for _, id := range ids {
		cards = append(cards, cardJob(id))
	}
	if code, out := cli(env, strings.Join(cards, "\n"), "send", "card"); code != 0 {
		h.t.Fatalf("send: exit %d: %s", code, out)
	}
	h.waitDeadLetters(before + uint64(len(ids)))
}

// jsonLines decodes every line of out as a JSON object.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		objs = append(objs, v)
	}
	return objs
}

// sorted returns s sorted, nil for an empty s.
func sorted(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	return s
}

// field collects one field of each object, as strings.
func field(objs []map[string]any, name string) []string {
	var out []string
	for _, o := range objs {
		out = append(out, fmt.Sprint(o[name]))
	}
	return out
}

func TestDLQReplayDeliversFixedJobsExactlyOnce(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	h.start(env)
	ids := []string{"fixme-1", "fixme-2", "fixme-3"}
	h.rejectCards(env, "fixme", 0, ids...)
	h.sb.ClearFaults() // the cause is fixed

	code, out := cli(env, "", "dlq", "replay", "--all", "--yes")
	if code != 0 || !strings.Contains(out, "replayed 3 dead letter(s)") {
		t.Fatalf("replay: exit %d: %s", code, out)
	}
	h.waitIdle()
	for _, id := range ids {
		if n := h.sb.DeliveryCount(id); n != 1 {
			t.Errorf("%s delivered %d times, want 1", id, n)
		}
	}
	if n := h.streamMsgs("DINGQ_DEAD"); n != 0 {
		t.Errorf("%d dead letters left after the replay", n)
	}

	// The same replay again finds nothing and sends nothing.
	code, out = cli(env, "", "dlq", "replay", "--all", "--yes")
	if code != 0 || !strings.Contains(out, "no dead letters match") {
		t.Fatalf("second replay: exit %d: %s", code, out)
	}
	h.waitIdle()
	for _, id := range ids {
		if n := h.sb.DeliveryCount(id); n != 1 {
			t.Errorf("%s delivered %d times after a second replay, want 1", id, n)
		}
	}
}

// A replay interrupted between its publish and its delete leaves the dead letter in place. Run
// again, it delivers nothing a second time; a dead letter whose first replay already ran (and so
// is gone from the work queue) cannot be checked against it, and is kept and reported rather
// than deleted on a guess.
func TestDLQReplayAfterAnInterruptionDeliversNothingTwice(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	h.start(env)
	ids := []string{"cut-1", "cut-2", "cut-3"}
	h.rejectCards(env, "cut", 0, ids...)
	h.sb.ClearFaults()

	// The interrupted run: the first dead letter published to its job subject, not deleted.
	ctx := context.Background()
	store, err := deadletters.Open(ctx, h.js, schema.NewNames(""))
	if err != nil {
		t.Fatal(err)
	}
	first, err := store.Get(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Republish(ctx, first); err != nil {
		t.Fatal(err)
	}
	h.waitIdle()
	if n := h.sb.DeliveryCount(first.JobID); n != 1 || h.streamMsgs("DINGQ_DEAD") != 3 {
		t.Fatalf("after the interrupted run: %s delivered %d times, %d dead letters", first.JobID, n, h.streamMsgs("DINGQ_DEAD"))
	}

	code, stdout, stderr := cliSplit(env, "dlq", "replay", "--all", "--yes", "--json")
	if code != 1 || !strings.Contains(stderr, "1 kept: the replay's id was already used and its job is gone") {
		t.Fatalf("replay: exit %d, want 1 with the kept dead letter reported: %s%s", code, stdout, stderr)
	}
	lines := jsonLines(t, stdout)
	if got := field(lines, "result"); !slices.Equal(got, []string{"unverified", "replayed", "replayed"}) {
		t.Errorf("results %v, want the first unverified and the others replayed", got)
	}
	if got := field(lines, "msg_id"); got[0] != "replay-1-"+first.JobID {
		t.Errorf("msg ids %v", got)
	}
	h.waitIdle()
	for _, id := range ids {
		if n := h.sb.DeliveryCount(id); n != 1 {
			t.Errorf("%s delivered %d times, want 1", id, n)
		}
	}
	_, stdout, _ = cliSplit(env, "dlq", "list", "--json")
	if left := field(jsonLines(t, stdout), "seq"); !slices.Equal(left, []string{"1"}) {
		t.Errorf("dead letters left: %v, want only the unverified one", left)
	}
}

// Someone else published a message with the id a replay takes. The replay's publish is dropped
// as a duplicate; the dead letter was deleted all the same, and its job lost. Now it is kept, and
// the run says so.
func TestDLQReplayKeepsALetterWhoseReplayIDAnotherMessageHolds(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	stop := h.start(env)
	h.rejectCards(env, "fx", 0, "fx-1")
	stop() // the other message waits in the work queue, as it would behind a busy fleet
	publish(t, h.js, schema.KindCard, cardJob("someone-else"), nats.Header{schema.HeaderMsgID: {"replay-1-fx-1"}})

	code, out := cli(env, "", "dlq", "replay", "1")
	if code != 1 || !strings.Contains(out, "1 kept: another message holds the replay's id") ||
		!strings.Contains(out, "replay-1-fx-1") {
		t.Errorf("replay: exit %d, want 1 and the kept dead letter reported:\n%s", code, out)
	}
	if n := h.streamMsgs("DINGQ_DEAD"); n != 1 {
		t.Errorf("%d dead letters, want the one replayed kept", n)
	}
	_, stdout, _ := cliSplit(env, "dlq", "replay", "1", "--json")
	if got := field(jsonLines(t, stdout), "result"); !slices.Equal(got, []string{"conflict"}) {
		t.Errorf("--json results %v, want [conflict]", got)
	}
	if n := h.streamMsgs("DINGQ_JOBS"); n != 1 {
		t.Errorf("job stream holds %d, want the other message only", n)
	}
}

// Two jobs whose letters a worker had to trim: one with header names nats.go will not publish,
// one that filled the max payload. show says what was left out, list marks them, and a replay of
// the truncated one is refused, the dead letter kept.
func TestDLQShowListAndReplayOfTrimmedLetters(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	h.start(env)
	workertest.RawPublish(t, h.srv.Addr().String(), "dingq.send.card", "Nats-Msg-Id: raw-1\r\nX-Trace/Id: 42\r\nX-Odd: a\x1b[2Jb\r\n", []byte(`{"cardTemplateId":"x"}`))
	big := nats.NewMsg("dingq.send.card")
	big.Header.Set(schema.HeaderMsgID, "big-1")
	block := len("NATS/1.0\r\n" + schema.HeaderMsgID + ": big-1\r\n\r\n")
	big.Data = append([]byte(`{"cardTemplateId":"`), bytes.Repeat([]byte("x"), int(h.js.Conn().MaxPayload())-block-len(`{"cardTemplateId":"`))...)
	if _, err := h.js.PublishMsg(context.Background(), big); err != nil {
		t.Fatal(err)
	}
	h.waitDeadLetters(2)
	sum := fmt.Sprintf("%x", sha256.Sum256(big.Data))

	code, out := cli(env, "", "dlq", "show", "raw-1")
	for _, want := range []string{`headers dropped from the job`, `"X-Trace/Id"`, `X-Odd: "a\x1b[2Jb"`} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("show raw-1 lacks %q: exit %d:\n%s", want, code, out)
		}
	}
	code, out = cli(env, "", "dlq", "show", "big-1")
	want := fmt.Sprintf("body truncated: only the first %%d of the job's %d bytes were kept (the whole body's sha256 %s); it cannot be replayed", len(big.Data), sum)
	var kept int
	if code != 0 || !strings.Contains(out, "body truncated") {
		t.Fatalf("show big-1: exit %d:\n%.2000s", code, out)
	}
	if _, err := fmt.Sscanf(out[strings.Index(out, "body truncated"):], want, &kept); err != nil || kept < len(big.Data)-2048 || kept >= len(big.Data) {
		t.Errorf("show big-1 does not say %q (%v, %d kept)", want, err, kept)
	}

	code, out = cli(env, "", "dlq", "list")
	if code != 0 || !strings.Contains(out, "[body truncated]") || !strings.Contains(out, "[headers dropped]") {
		t.Errorf("list does not mark the trimmed letters: exit %d:\n%s", code, out)
	}
	_, stdout, _ := cliSplit(env, "dlq", "list", "--json")
	for _, l := range jsonLines(t, stdout) {
		switch l["job_id"] {
		case "big-1":
			if tr, _ := l["truncated"].(map[string]any); tr["length"] != float64(len(big.Data)) || tr["sha256"] != sum {
				t.Errorf("big-1 truncated = %v", l["truncated"])
			}
		case "raw-1":
			if fmt.Sprint(l["dropped_headers"]) != "[X-Trace/Id]" {
				t.Errorf("raw-1 dropped_headers = %v", l["dropped_headers"])
			}
		}
	}

	code, out = cli(env, "", "dlq", "replay", "big-1")
	if code != 1 || !strings.Contains(out, "truncated") || !strings.Contains(out, "broken job") || !strings.Contains(out, "1 kept: body truncated") {
		t.Errorf("replay of the truncated letter: exit %d, want 1 and a refusal:\n%s", code, out)
	}
	if n := h.streamMsgs("DINGQ_DEAD"); n != 2 {
		t.Errorf("%d dead letters after the refused replay, want 2", n)
	}
	if n := h.streamMsgs("DINGQ_JOBS"); n != 0 {
		t.Errorf("the refused replay published %d jobs", n)
	}
}

func TestDLQReplayDryRunChangesNothing(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	h.start(env)
	h.rejectCards(env, "dry", 0, "dry-1", "dry-2")
	// The same job dead twice: published again by a producer that sets no Nats-Msg-Id (dingq's
	// own publishers would have had the copy dropped as a duplicate).
	publish(t, h.js, schema.KindCard, cardJob("dry-1"), nil)
	h.waitDeadLetters(3)
	h.sb.ClearFaults()

	for _, args := range [][]string{
		{"dlq", "replay", "--all", "--dry-run"},
		{"dlq", "replay", "dry-2", "--dry-run"},
		{"dlq", "purge", "--reason", "rejected", "--dry-run"},
	} {
		code, out := cli(env, "", args...)
		if code != 0 || !strings.Contains(out, "dry-2") || !strings.Contains(out, "nothing was changed") {
			t.Errorf("%v: exit %d: %s", args, code, out)
		}
	}
	// A job id that names several dead letters replays none: it would send the job twice.
	if code, out := cli(env, "", "dlq", "replay", "dry-1"); code != 1 || !strings.Contains(out, "names 2 dead letters") {
		t.Errorf("replay of a job id dead twice: exit %d: %s", code, out)
	}
	if n := h.streamMsgs("DINGQ_DEAD"); n != 3 {
		t.Errorf("%d dead letters after dry runs, want 3", n)
	}
	if n := h.streamMsgs("DINGQ_JOBS"); n != 0 {
		t.Errorf("%d jobs published by dry runs", n)
	}
	if n := h.sb.DeliveryCount("dry-1") + h.sb.DeliveryCount("dry-2"); n != 0 {
		t.Errorf("%d deliveries after dry runs", n)
	}
}

// A replay goes back to the subject its job came in on, so to its app: a job for the app "later"
// that DingTalk rejected is replayed into that app's stream, under its app-qualified id.
func TestDLQReplayKeepsTheJobsApp(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	env["DINGQ_APP_LATER_KEY"], env["DINGQ_APP_LATER_SECRET"] = "app-key", appSecret
	h.start(env)
	if err := h.sb.AddFault(sandbox.Fault{Contains: "late-app", Preset: sandbox.PresetReject}); err != nil {
		t.Fatal(err)
	}
	if code, out := cli(env, cardJob("late-app"), "send", "card", "--app", "Later"); code != 0 {
		t.Fatalf("send: exit %d: %s", code, out)
	}
	h.waitDeadLetters(1)
	h.sb.ClearFaults()
	if code, out := cli(env, "", "dlq", "replay", "later:late-app"); code != 0 {
		t.Fatalf("replay: exit %d: %s", code, out)
	}
	waitFor(t, 20*time.Second, "the replayed job sent", func() bool { return h.sb.DeliveryCount("late-app") == 1 }, h.out)
	for _, ev := range h.out.Events("sent") {
		if ev["job_id"] != "later:replay-1-late-app" {
			t.Errorf("sent %v, want the job later:replay-1-late-app", ev)
		}
	}
	// A job for an app no worker serves has no stream: `dingq send` says so, and queues nothing.
	code, out := cli(env, cardJob("nowhere-1"), "send", "card", "--app", "nosuch")
	if code != 1 || !strings.Contains(out, "no job stream takes dingq.send.card.nosuch") {
		t.Errorf("send for an unknown app: exit %d: %s", code, out)
	}
}

func TestDLQPurgeRemovesOnlyWhatItSelects(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	h.start(env)
	h.rejectCards(env, "keep", 0, "keep-1", "keep-2")
	for _, id := range []string{"bad-1", "bad-2"} {
		publish(t, h.js, schema.KindCard, `{"cardTemplateId":"x","outTrackId":"`+id+`"}`, nil)
	}
	h.waitDeadLetters(4)

	code, out := cli(env, "", "dlq", "purge", "--reason", "invalid")
	if code != 2 || !strings.Contains(out, "--yes") {
		t.Errorf("purge without --yes on a non-terminal: exit %d: %s", code, out)
	}
	if n := h.streamMsgs("DINGQ_DEAD"); n != 4 {
		t.Fatalf("%d dead letters after a refused purge, want 4", n)
	}

	code, out = cli(env, "", "dlq", "purge", "--reason", "invalid", "--yes")
	if code != 0 || !strings.Contains(out, "purged 2 dead letter(s)") {
		t.Fatalf("purge: exit %d: %s", code, out)
	}
	code, stdout, _ := cliSplit(env, "dlq", "list", "--json")
	if code != 0 {
		t.Fatalf("list: exit %d", code)
	}
	left := jsonLines(t, stdout)
	if got := sorted(field(left, "job_id")); !slices.Equal(got, []string{"keep-1", "keep-2"}) {
		t.Errorf("left %v, want [keep-1 keep-2]", got)
	}

	// By name, no confirmation; then everything of a kind, in one request.
	if code, out := cli(env, "", "dlq", "purge", "keep-1"); code != 0 || !strings.Contains(out, "purged 1") {
		t.Errorf("purge by job id: exit %d: %s", code, out)
	}
	if code, out := cli(env, "", "dlq", "purge", "--all", "--kind", "card", "--yes"); code != 0 || !strings.Contains(out, "purged 1") {
		t.Errorf("purge --all --kind card: exit %d: %s", code, out)
	}
	if n := h.streamMsgs("DINGQ_DEAD"); n != 0 {
		t.Errorf("%d dead letters left", n)
	}
}

func TestDLQListFiltersAndPrintsJSON(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	h.start(env)
	h.rejectCards(env, "lst", 0, "lst-1", "lst-2")
	publish(t, h.js, schema.KindCard, `{"cardTemplateId":"x","outTrackId":"lst-bad"}`, nil)
	if err := h.sb.AddFault(sandbox.Fault{Kind: schema.KindCrossDomain, Preset: sandbox.PresetReject}); err != nil {
		t.Fatal(err)
	}
	cross := `{"sender":"1@d","message_id":"lst-cross","send_message_model":{"conversation_type":1,"uuid":"u1","content_type":1,"content":"{\"content\":\"hi\"}","cid":"c@d"}}`
	if code, out := cli(env, cross, "send", "crossdomain"); code != 0 {
		t.Fatalf("send crossdomain: exit %d: %s", code, out)
	}
	h.waitDeadLetters(4)

	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	cases := []struct {
		args []string
		want []string
	}{
		{nil, []string{"lst-1", "lst-2", "lst-bad", "lst-cross"}},
		{[]string{"--kind", "card"}, []string{"lst-1", "lst-2", "lst-bad"}},
		{[]string{"--reason", "rejected"}, []string{"lst-1", "lst-2", "lst-cross"}},
		{[]string{"--code", "chatbotNotInstall"}, []string{"lst-1", "lst-2"}},
		{[]string{"--kind", "card", "--reason", "invalid"}, []string{"lst-bad"}},
		{[]string{"--since", "1h"}, []string{"lst-1", "lst-2", "lst-bad", "lst-cross"}},
		{[]string{"--since", future}, nil},
		{[]string{"--until", "1h"}, nil},
	}
	for _, c := range cases {
		code, stdout, stderr := cliSplit(env, append([]string{"dlq", "list", "--json"}, c.args...)...)
		if code != 0 {
			t.Errorf("%v: exit %d: %s", c.args, code, stderr)
			continue
		}
		lines := jsonLines(t, stdout)
		if got := sorted(field(lines, "job_id")); !slices.Equal(got, c.want) {
			t.Errorf("%v: %v, want %v", c.args, got, c.want)
		}
	}
	_, stdout, _ := cliSplit(env, "dlq", "list", "--json", "--limit", "2")
	if lines := jsonLines(t, stdout); len(lines) != 2 || lines[0]["seq"] != 1.0 || lines[1]["seq"] != 2.0 {
		t.Errorf("--limit 2: %v, want the two oldest", lines)
	}

	_, stdout, _ = cliSplit(env, "dlq", "list", "--json", "--code", "chatbotNotInstall")
	l := jsonLines(t, stdout)[0]
	for k, want := range map[string]any{"kind": "card", "reason": "rejected", "http_status": 400.0,
		"attempts": 1.0, "original_subject": "dingq.send.card", "subject": "dingq.dead.card"} {
		if l[k] != want {
			t.Errorf("%s = %v, want %v (line %v)", k, l[k], want, l)
		}
	}
	if _, err := time.Parse(time.RFC3339, fmt.Sprint(l["failed_at"])); err != nil {
		t.Errorf("failed_at: %v", err)
	}

	code, out := cli(env, "", "dlq", "list")
	if code != 0 || !strings.Contains(out, "SEQ") || !strings.Contains(out, "chatbotNotInstall") || !strings.Contains(out, "lst-cross") {
		t.Errorf("table: exit %d:\n%s", code, out)
	}
	if code, out := cli(env, "", "dlq", "list", "--kind", "robot"); code != 0 || !strings.Contains(out, "no dead letters match") {
		t.Errorf("empty table: exit %d: %s", code, out)
	}
}

func TestDLQShowBySeqAndJobID(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	h.start(env)
	h.rejectCards(env, "shw", 0, "shw-1", "shw-2")
	seqOf := map[string]uint64{} // the worker may dead-letter them in either order
	_, stdout, _ := cliSplit(env, "dlq", "list", "--json")
	for _, l := range jsonLines(t, stdout) {
		seqOf[l["job_id"].(string)] = uint64(l["seq"].(float64))
	}

	code, out := cli(env, "", "dlq", "show", fmt.Sprint(seqOf["shw-2"]))
	for _, want := range []string{fmt.Sprintf("dead letter %d on dingq.dead.card", seqOf["shw-2"]), "job shw-2", "rejected: chatbotNotInstall (HTTP 400)",
		"Dingq-Reason: rejected", "Dingq-Original-Subject: dingq.send.card", cardJob("shw-2")} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q: exit %d:\n%s", want, code, out)
		}
	}

	code, stdout, stderr := cliSplit(env, "dlq", "show", "shw-1", "--json")
	if code != 0 {
		t.Fatalf("show shw-1: exit %d: %s", code, stderr)
	}
	var s struct {
		Seq     uint64              `json:"seq"`
		JobID   string              `json:"job_id"`
		Reason  string              `json:"reason"`
		Headers map[string][]string `json:"headers"`
		Body    string              `json:"body"`
	}
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if s.Seq != seqOf["shw-1"] || s.JobID != "shw-1" || s.Reason != "rejected" || s.Body != cardJob("shw-1") ||
		s.Headers["Dingq-Error-Code"][0] != "chatbotNotInstall" {
		t.Errorf("show --json = %+v", s)
	}

	if code, out := cli(env, "", "dlq", "show", "99"); code != 1 || !strings.Contains(out, "no such dead letter") {
		t.Errorf("show 99: exit %d: %s", code, out)
	}
}

func TestDLQUsageMistakesExitTwo(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"dlq"}, nil, "want a subcommand"},
		{[]string{"dlq", "frob"}, nil, "unknown subcommand"},
		{[]string{"dlq", "list", "--kind", "fax"}, nil, "--kind"},
		{[]string{"dlq", "list", "--reason", "tired"}, nil, "--reason"},
		{[]string{"dlq", "list", "--since", "yesterday"}, nil, "--since"},
		{[]string{"dlq", "list", "--until", "soon"}, nil, "--until"},
		{[]string{"dlq", "list", "--since", "1h", "--until", "2h"}, nil, "--since"},
		{[]string{"dlq", "list", "--limit", "0"}, nil, "--limit"},
		{[]string{"dlq", "list", "17"}, nil, "no arguments"},
		{[]string{"dlq", "list", "--bogus"}, nil, "bogus"},
		{[]string{"dlq", "show"}, nil, "want a dead letter"},
		{[]string{"dlq", "show", "seq:x"}, nil, "seq:x"},
		{[]string{"dlq", "replay"}, nil, "say which dead letters"},
		{[]string{"dlq", "replay", "3", "--all"}, nil, "not both"},
		{[]string{"dlq", "replay", "--all"}, nil, "--yes"},
		{[]string{"dlq", "purge", "--kind", "card"}, nil, "--yes"},
		// Only the command line confirms, never the environment.
		{[]string{"dlq", "purge", "--all"}, map[string]string{"DINGQ_YES": "true"}, "--yes"},
	}
	for _, c := range cases {
		code, out := cli(c.env, "", c.args...)
		if code != 2 || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d, output %q; want 2 and %q", c.args, code, out, c.want)
		}
	}
}
