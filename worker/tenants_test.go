package worker_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
)

// A job's app is its subject's, and each app has its own job stream: the same Nats-Msg-Id
// published for two apps is two jobs, each sent once with its own app, under ids that never meet.
func TestEachAppHasItsOwnStreamAndIDs(t *testing.T) {
	e := newEnv(t)
	cfg := testConfig()
	cfg.Apps = []string{"sales", "orders"}
	var mu sync.Mutex
	sent := map[string]string{} // qualified id -> app
	e.run(cfg, dispatcher.SenderFunc(func(_ context.Context, j dispatcher.Job) error {
		mu.Lock()
		defer mu.Unlock()
		sent[j.ID] = j.App
		return nil
	}))
	ctx := context.Background()
	for _, app := range []string{"", "sales", "orders"} {
		m := nats.NewMsg(names.SendSubjectFor(schema.KindCard, app))
		m.Data = []byte(card("order-1"))
		m.Header.Set(schema.HeaderMsgID, "order-1")
		ack, err := e.js.PublishMsg(ctx, m)
		if err != nil {
			t.Fatalf("publish for app %q: %v", app, err)
		}
		if ack.Duplicate || ack.Stream != names.JobStreamFor(app) {
			t.Errorf("app %q: stored in %s, duplicate %v; want %s, not a duplicate", app, ack.Stream, ack.Duplicate, names.JobStreamFor(app))
		}
	}
	e.waitFor(10*time.Second, "three sends", func() bool { mu.Lock(); defer mu.Unlock(); return len(sent) == 3 })
	want := map[string]string{"order-1": "", "sales:order-1": "sales", "orders:order-1": "orders"}
	mu.Lock()
	defer mu.Unlock()
	for id, app := range want {
		if got, ok := sent[id]; !ok || got != app {
			t.Errorf("job %s: sent %v with app %q, want app %q (all sent: %v)", id, ok, got, app, sent)
		}
	}
	// A job for an app no worker has a stream for is refused at its publish.
	if _, err := e.js.PublishMsg(ctx, &nats.Msg{Subject: names.SendSubjectFor(schema.KindCard, "unknown"), Data: []byte(card("x"))}); err == nil {
		t.Error("a job for an app without a stream was accepted")
	}
}

// A robot alert storm fills its consumer with deferred jobs; cards have their own consumer, and
// no consumer has a window for deferred jobs to fill.
func TestDeferredJobsDoNotHoldOtherKindsBack(t *testing.T) {
	e := newEnv(t)
	cfg := testConfig()
	const storm = 300
	started := make(chan struct{})
	var once sync.Once
	e.run(cfg, dispatcher.SenderFunc(func(_ context.Context, j dispatcher.Job) error {
		if j.Kind == schema.KindRobot {
			once.Do(func() { close(started) })
			// Every robot job waits for a turn an hour away, as under a flood to one robot.
			return &dispatcher.Error{Decision: dispatcher.Defer, Code: "rate_limited", MinDelay: time.Hour}
		}
		return nil
	}))
	robot := `{"link":"https://oapi.dingtalk.com/robot/send?access_token=x","data":[{"msgtype":"text","text":{"content":"disk full"}}]}`
	for i := range storm {
		e.publish(schema.KindRobot, robot, nats.Header{schema.HeaderMsgID: []string{"alert-" + strconv.Itoa(i)}})
	}
	<-started
	e.waitFor(20*time.Second, "the storm deferred", func() bool { return e.ackPending(names.ConsumerFor(schema.KindRobot)) == storm })
	e.publish(schema.KindCard, card("after-the-storm"), nil)
	e.waitFor(10*time.Second, "the card sent", func() bool { return e.log.Has("sent") })
	info, err := e.js.Consumer(context.Background(), names.JobStream(), names.ConsumerFor(schema.KindRobot))
	if err != nil {
		t.Fatal(err)
	}
	if c := info.CachedInfo().Config; c.MaxAckPending != -1 {
		t.Errorf("robot consumer max ack pending %d, want no limit", c.MaxAckPending)
	}
}

// ackPending is how many jobs a consumer of the default app's job stream has delivered and not
// had acked.
func (e *env) ackPending(consumer string) int {
	c, err := e.js.Consumer(context.Background(), names.JobStream(), consumer)
	if err != nil {
		return -1
	}
	return c.CachedInfo().NumAckPending
}
