package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/ratelimit"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
)

// robotHook is a group robot's webhook that records each message's msgUuid, in the order they
// arrive, and answers busy (errcode -1) to the messages listed in failOnce, the first time each
// arrives.
type robotHook struct {
	*httptest.Server
	mu       sync.Mutex
	uuids    []string
	failOnce map[string]bool
}

func newRobotHook(t *testing.T, failOnce ...string) *robotHook {
	h := &robotHook{failOnce: map[string]bool{}}
	for _, u := range failOnce {
		h.failOnce[u] = true
	}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			MsgUUID string `json:"msgUuid"`
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &msg)
		h.mu.Lock()
		fail := false
		for suffix := range h.failOnce {
			if strings.HasSuffix(msg.MsgUUID, suffix) {
				delete(h.failOnce, suffix)
				fail = true
			}
		}
		if !fail {
			h.uuids = append(h.uuids, msg.MsgUUID)
		}
		h.mu.Unlock()
		if fail {
			_, _ = w.Write([]byte(`{"errcode":-1,"errmsg":"system busy"}`))
			return
		}
		_, _ = w.Write([]byte(`{"errcode":0,"errmsg":"ok"}`))
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *robotHook) posted() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.uuids...)
}

// robotJob is a robot job for the link of hook with n text messages.
func robotJob(n int) string {
	msgs := make([]string, n)
	for i := range msgs {
		msgs[i] = fmt.Sprintf(`{"msgtype":"text","text":{"content":"part %d"}}`, i)
	}
	return `{"link":"https://oapi.dingtalk.com/robot/send?access_token=tok","data":[` + strings.Join(msgs, ",") + `]}`
}

// webhookUnderLimit provisions cfg's resources and returns the worker's deps for them: the direct
// webhook to hook under a limit of n a second for every robot, with turns further than hold away
// deferred, as `dingq serve` wires it.
func (e *env) webhookUnderLimit(cfg worker.Config, hook *robotHook, n int, hold time.Duration) worker.Deps {
	e.t.Helper()
	res, err := worker.Provision(context.Background(), e.js, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	ws, err := dispatcher.NewWebhookSender(dispatcher.WebhookConfig{BaseURL: hook.URL})
	if err != nil {
		e.t.Fatal(err)
	}
	lim, err := ratelimit.New(res.Limits, ratelimit.Config{MaxHold: hold})
	if err != nil {
		e.t.Fatal(err)
	}
	send := lim.Wrap(ws, func(dispatcher.Job) (ratelimit.Target, bool) {
		return ratelimit.Target{Key: "robot:test", Rate: ratelimit.Rate{N: n, Per: time.Second}}, true
	})
	return worker.Deps{Sender: send, Resources: res}
}

// A robot job whose messages do not fit in one hold of its limit posts each message once, in
// order: every turn too far away defers the job, which comes back at the message it stopped at,
// and a busy answer to one message retries from that message. Only the retry is an attempt.
func TestRobotJobResumesWhereItStopped(t *testing.T) {
	e := newEnv(t)
	hook := newRobotHook(t, "-2")
	cfg := testConfig()
	cfg.MaxAttempts = 2
	e.runWith(cfg, e.webhookUnderLimit(cfg, hook, 4, 100*time.Millisecond))

	e.publish(schema.KindRobot, robotJob(6), nil)
	e.waitFor(20*time.Second, "the job sent", func() bool { return e.log.Has("sent") })

	got := hook.posted()
	if len(got) != 6 {
		t.Fatalf("posted %d messages, want 6 exactly once each: %v", len(got), got)
	}
	for i, u := range got {
		if !strings.HasSuffix(u, fmt.Sprintf("-%d", i)) {
			t.Errorf("message %d posted with msgUuid %s: out of order or repeated", i, u)
		}
	}
	if sent := e.log.Events("sent")[0]; sent["attempt"] != float64(2) {
		t.Errorf("sent on attempt %v, want 2: deferrals are not attempts, the busy answer is", sent["attempt"])
	}
	if n := len(e.log.Events("deferred: waiting for its turn")); n < 4 {
		t.Errorf("%d deferrals, want at least 4: each message past the first waits for a turn", n)
	}
	e.waitFor(5*time.Second, "job stream empty", func() bool { return e.streamMsgs(names.JobStream()) == 0 })
	if n := len(e.deadLetters()); n != 0 {
		t.Errorf("dead letters = %d, want 0", n)
	}
}

// A worker that stops while a robot job is part-way (its jobs handed back) leaves the job's
// progress behind: the next worker starts at the first message not posted.
func TestRobotJobResumesOnAnotherWorker(t *testing.T) {
	e := newEnv(t)
	hook := newRobotHook(t)
	cfg := testConfig()
	stop := e.runWith(cfg, e.webhookUnderLimit(cfg, hook, 2, 100*time.Millisecond))
	e.publish(schema.KindRobot, robotJob(4), nil)
	e.waitFor(10*time.Second, "two messages posted", func() bool { return len(hook.posted()) >= 2 })
	stop()

	e.runWith(cfg, e.webhookUnderLimit(cfg, hook, 2, 100*time.Millisecond))
	e.waitFor(20*time.Second, "the job sent", func() bool { return e.log.Has("sent") })
	got := hook.posted()
	if len(got) != 4 {
		t.Fatalf("posted %d messages, want 4 exactly once each: %v", len(got), got)
	}
	for i, u := range got {
		if !strings.HasSuffix(u, fmt.Sprintf("-%d", i)) {
			t.Errorf("message %d posted with msgUuid %s: out of order or repeated", i, u)
		}
	}
}

// With the sent-record bucket deleted while jobs wait for their turns, no job is exhausted for
// deliveries that were deferrals: their state went with the bucket, and the worker forgives them.
func TestDeletedStateBucketDoesNotExhaustDeferredJobs(t *testing.T) {
	e := newEnv(t)
	hook := newRobotHook(t)
	cfg := testConfig()
	cfg.MaxAttempts = 2
	e.runWith(cfg, e.webhookUnderLimit(cfg, hook, 3, 100*time.Millisecond))
	e.publish(schema.KindRobot, robotJob(8), nil)
	e.waitFor(10*time.Second, "three deferrals", func() bool {
		return len(e.log.Events("deferred: waiting for its turn")) >= 3
	})
	if err := e.js.DeleteKeyValue(context.Background(), names.SentBucket()); err != nil {
		t.Fatal(err)
	}
	e.waitFor(30*time.Second, "the job sent", func() bool { return e.log.Has("sent") })
	if n := len(hook.posted()); n != 8 {
		t.Errorf("posted %d messages, want 8", n)
	}
	if n := len(e.deadLetters()); n != 0 {
		t.Errorf("dead letters = %d, want 0: %v", n, e.log)
	}
}
