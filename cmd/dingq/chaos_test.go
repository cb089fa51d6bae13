package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/dispatcher/sandbox"
	"github.com/dingq/dingq/schema"
)

// The promise off the happy path: a mix of cards, cross-domain messages and multi-message robot
// jobs on the direct webhook, under the default limits (20 a second per app API, 20 a minute per
// robot), while the limits and sent buckets are deleted under the worker with robot jobs half
// posted, the dead-letter stream is full for a while, and the (drained) job stream is deleted and
// published to again. Every job ends exactly once, as sent or as a dead letter whose reason and
// code are DingTalk's answer (or the validator's), no robot message is posted twice (no msgUuid
// repeated: there is no crash in this run), and no robot is ever over its limit.
func TestChaosEveryJobEndsExactlyOnce(t *testing.T) {
	h := newHarness(t, sandbox.Config{APIRate: 20, RobotLimit: 20, RobotWindow: time.Minute})
	env := h.env()
	delete(env, "DINGQ_RATE_API")
	delete(env, "DINGQ_RATE_ROBOT")
	env["DINGQ_ROBOT_VIA"] = "direct"
	env["DINGQ_LOG_LEVEL"] = "info"
	h.start(env)
	ctx := context.Background()
	names := schema.NewNames("")
	for _, f := range []sandbox.Fault{
		{Kind: schema.KindCard, Contains: "reject-me", Preset: sandbox.PresetReject},
		{Kind: schema.KindCrossDomain, Contains: "reject-me", Preset: sandbox.PresetReject},
		{Kind: schema.KindCard, Preset: sandbox.PresetBusy, Times: 6},
	} {
		if err := h.sb.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}

	// The dead-letter stream holds one more letter, then refuses new ones.
	dead, err := h.js.Stream(ctx, names.DeadStream())
	if err != nil {
		t.Fatal(err)
	}
	deadCfg := dead.CachedInfo().Config
	deadCfg.MaxMsgs, deadCfg.Discard = 1, jetstream.DiscardNew
	if _, err := h.js.UpdateStream(ctx, deadCfg); err != nil {
		t.Fatal(err)
	}

	want := map[string]string{} // job id -> "sent", or "<reason>/<code>" of its letter
	for i := range 30 {
		id := fmt.Sprintf("chaos-card-%02d", i)
		if i%10 == 3 {
			id += "-reject-me"
			want[id] = "rejected/chatbotNotInstall"
		} else {
			want[id] = "sent"
		}
		publish(t, h.js, schema.KindCard, cardJob(id), nil)
	}
	for i := range 12 {
		id := fmt.Sprintf("chaos-cross-%02d", i)
		want[id] = "sent"
		if i%6 == 1 {
			delete(want, id)
			id += "-reject-me"
			want[id] = "rejected/40035"
		}
		publish(t, h.js, schema.KindCrossDomain, fmt.Sprintf(`{"sender":"1@d","message_id":%q,"send_message_model":{"conversation_type":1,"uuid":"u1","content_type":1,"content":"{\"content\":\"hi\"}","cid":"c@d"}}`, id), nil)
	}
	for i := range 2 {
		id := fmt.Sprintf("chaos-bad-%d", i)
		want[id] = "invalid/"
		publish(t, h.js, schema.KindCard, `{"cardTemplateId":"x","outTrackId":"`+id+`"}`, nil)
	}
	const robots, messages = 3, 3
	robotIDs := map[string]bool{}
	for r := range robots {
		parts := make([]string, messages)
		for m := range parts {
			parts[m] = fmt.Sprintf(`{"msgtype":"text","text":{"content":"robot %d part %d"}}`, r, m)
		}
		body := fmt.Sprintf(`{"link":"%s/robot/send?access_token=chaos-robot-%d","data":[%s]}`, h.sbURL, r, strings.Join(parts, ","))
		robotIDs[schema.JobID(schema.KindRobot, "", []byte(body))] = true
		publish(t, h.js, schema.KindRobot, body, nil)
	}

	// With every robot's first message posted and the rest waiting for their turns, the state
	// the fleet shares goes away.
	waitFor(t, 20*time.Second, "each robot's first message", func() bool { return len(robotDeliveries(h.sb)) >= robots }, h.out)
	for _, b := range []string{names.LimitBucket(), names.SentBucket()} {
		if err := h.js.DeleteKeyValue(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "every card and cross-domain message sent", func() bool {
		st := h.sb.Stats()
		return st.Deliveries[schema.KindCard] >= 27 && st.Deliveries[schema.KindCrossDomain] >= 10
	}, h.out)
	waitFor(t, 10*time.Second, "dead letters refused", func() bool {
		return h.out.Has("dead-letter publish failed; job kept, its letter published again later")
	}, h.out)
	deadCfg.MaxMsgs = -1
	if _, err := h.js.UpdateStream(ctx, deadCfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "every robot message posted", func() bool { return len(robotDeliveries(h.sb)) >= robots*messages }, h.out)
	waitFor(t, 30*time.Second, "the job stream drained", func() bool { return streamMsgs(t, h.js, names.JobStream()) == 0 }, h.out)

	// The drained job stream is deleted; the worker creates it again, and new jobs flow, their
	// sequences starting over.
	if err := h.js.DeleteStream(ctx, names.JobStream()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the job stream back", func() bool {
		_, err := h.js.Stream(ctx, names.JobStream())
		return err == nil
	}, h.out)
	for i := range 5 {
		id := fmt.Sprintf("chaos-late-%d", i)
		want[id] = "sent"
		if i == 0 {
			delete(want, id)
			id += "-reject-me"
			want[id] = "rejected/chatbotNotInstall"
		}
		publish(t, h.js, schema.KindCard, cardJob(id), nil)
	}
	deadWant := 0
	for _, w := range want {
		if w != "sent" {
			deadWant++
		}
	}
	waitFor(t, 30*time.Second, "every letter stored", func() bool { return streamMsgs(t, h.js, names.DeadStream()) >= uint64(deadWant) }, h.out)
	waitFor(t, 30*time.Second, "the job stream drained", func() bool { return streamMsgs(t, h.js, names.JobStream()) == 0 }, h.out)

	got := map[string][]string{}
	for _, d := range h.sb.Deliveries() {
		if d.Kind != schema.KindRobot {
			got[d.Key] = append(got[d.Key], "sent")
		}
	}
	robotPosts := map[string]int{}
	robotTimes := map[string][]time.Time{}
	for _, d := range h.sb.Deliveries() {
		if d.Kind == schema.KindRobot {
			robotPosts[d.Robot]++
			robotTimes[d.Robot] = append(robotTimes[d.Robot], d.At)
		}
	}
	// 20 a minute is a turn every 3.06 s, each usable up to 0.6 s late (half the 2 % margin):
	// the schedule survives its bucket's deletion.
	for r, at := range robotTimes {
		slices.SortFunc(at, time.Time.Compare)
		for i := 1; i < len(at); i++ {
			if gap := at[i].Sub(at[i-1]); gap < 2400*time.Millisecond {
				t.Errorf("robot %s: messages %d and %d %v apart, under its 20/min turn", r, i-1, i, gap)
			}
		}
	}
	for _, l := range deadLetters(t, h.js) {
		got[l.Header.Get(schema.HeaderJobID)] = append(got[l.Header.Get(schema.HeaderJobID)],
			l.Header.Get(schema.HeaderReason)+"/"+l.Header.Get(schema.HeaderErrorCode))
	}
	lost, twice, wrong := 0, 0, 0
	for id, w := range want {
		ends := got[id]
		switch {
		case len(ends) == 0:
			lost++
			t.Errorf("%s: no end (want %s)", id, w)
		case len(ends) > 1:
			twice++
			t.Errorf("%s: ended %d times: %v", id, len(ends), ends)
		case !strings.HasPrefix(ends[0], w):
			wrong++
			t.Errorf("%s: ended %s, want %s", id, ends[0], w)
		}
	}
	for _, l := range deadLetters(t, h.js) {
		if robotIDs[l.Header.Get(schema.HeaderJobID)] {
			t.Errorf("robot job dead-lettered: %v", l.Header)
		}
	}
	if len(robotPosts) != robots {
		t.Errorf("%d robots posted to, want %d", len(robotPosts), robots)
	}
	for r, n := range robotPosts {
		if n != messages {
			t.Errorf("robot %s: %d messages posted, want %d", r, n, messages)
		}
	}
	st := h.sb.Stats()
	dups := st.Outcomes[schema.KindRobot][sandbox.OutcomeDuplicate]
	if dups != 0 {
		t.Errorf("%d robot messages posted again (repeated msgUuid) with no crash in between", dups)
	}
	if n := throttled(h.sb); n != 0 {
		t.Errorf("the sandbox refused %d sends as over a limit", n)
	}
	t.Logf("chaos: %d jobs and %d robot jobs of %d messages each, lost %d, ended twice %d, wrong end %d, card and cross-domain deliveries repeated %d, msgUuids repeated %d",
		len(want), robots, messages, lost, twice, wrong, st.Duplicates, dups)
}

func streamMsgs(t *testing.T, js jetstream.JetStream, name string) uint64 {
	s, err := js.Stream(context.Background(), name)
	if err != nil {
		return 1 << 62 // missing counts as not drained
	}
	info, err := s.Info(context.Background())
	if err != nil {
		return 1 << 62
	}
	return info.State.Msgs
}

func deadLetters(t *testing.T, js jetstream.JetStream) []*jetstream.RawStreamMsg {
	t.Helper()
	s, err := js.Stream(context.Background(), schema.NewNames("").DeadStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(context.Background(), seq)
		if err == nil {
			out = append(out, m)
		}
	}
	return out
}
