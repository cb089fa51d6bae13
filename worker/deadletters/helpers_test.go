package deadletters_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/deadletters"
	"github.com/dingq/dingq/worker/workertest"
)

var names = schema.NewNames("")

// env is a test's NATS server with dingq's streams, and a store over its dead letters.
type env struct {
	t     *testing.T
	js    jetstream.JetStream
	store *deadletters.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	_, _, js := workertest.StartNATS(t)
	ctx := context.Background()
	if _, err := worker.Provision(ctx, js, worker.Config{Names: names, Apps: []string{"ops"}}); err != nil {
		t.Fatal(err)
	}
	store, err := deadletters.Open(ctx, js, names)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, js: js, store: store}
}

// letter describes a dead letter to store, as a worker would.
type letter struct {
	kind     schema.Kind
	job      string
	reason   string
	code     string
	failedAt time.Time // zero: now
	// noFailedAt leaves Dingq-Failed-At out: the letter's time is then when it was stored.
	noFailedAt bool
	extra      map[string]string
}

// put stores l the way a worker's dead-lettering does, and returns its sequence.
func (e *env) put(l letter) uint64 {
	e.t.Helper()
	m := nats.NewMsg(names.DeadSubject(l.kind))
	m.Data = []byte(`{"outTrackId":"` + l.job + `"}`)
	if l.failedAt.IsZero() {
		l.failedAt = time.Now()
	}
	for k, v := range l.extra {
		m.Header.Set(k, v)
	}
	m.Header.Set(schema.HeaderJobID, l.job)
	m.Header.Set(schema.HeaderReason, l.reason)
	m.Header.Set(schema.HeaderErrorCode, l.code)
	m.Header.Set(schema.HeaderError, "DingTalk said no")
	m.Header.Set(schema.HeaderHTTPStatus, "400")
	m.Header.Set(schema.HeaderAttempts, "1")
	m.Header.Set(schema.HeaderOriginalSubject, names.SendSubject(l.kind))
	if !l.noFailedAt {
		m.Header.Set(schema.HeaderFailedAt, l.failedAt.UTC().Format(time.RFC3339))
	}
	ack, err := e.js.PublishMsg(context.Background(), m, jetstream.WithMsgID("dead-"+l.job+"-"+strconv.Itoa(int(l.failedAt.UnixNano()))))
	if err != nil {
		e.t.Fatal(err)
	}
	return ack.Sequence
}

// count returns how many messages stream holds.
func (e *env) count(stream string) uint64 {
	e.t.Helper()
	s, err := e.js.Stream(context.Background(), stream)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return info.State.Msgs
}

// consumers returns how many consumers stream has.
func (e *env) consumers(stream string) int {
	e.t.Helper()
	s, err := e.js.Stream(context.Background(), stream)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return info.State.Consumers
}

// scan returns the job ids f selects, in order.
func (e *env) scan(f deadletters.Filter) []string {
	e.t.Helper()
	var ids []string
	err := e.store.Scan(context.Background(), f, func(l deadletters.Letter) error {
		ids = append(ids, l.JobID)
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return ids
}
