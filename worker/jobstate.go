package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// jobState is what the worker remembers of one stored job between its deliveries, in the
// sent-record bucket under the job's instance. JetStream's NumDelivered counts every delivery,
// whatever ended it; the state says which deliveries were not attempts, how far a multi-message
// job got, and what was decided for a job whose dead letter could not be stored yet. Only jobs
// that were deferred, stopped part-way or decided without a stored letter have one.
type jobState struct {
	// Deferrals counts deliveries that were not attempts: waits for a turn under a rate limit, or
	// deliveries forgiven because the state was lost (see [Worker.attemptOf]).
	Deferrals int `json:"deferrals,omitempty"`
	// Turn is the send turn the last deferral reserved.
	Turn time.Time `json:"turn,omitzero"`
	// Posted counts the messages of a multi-message job that DingTalk has: the next attempt
	// starts after them.
	Posted int `json:"posted,omitempty"`
	// Decision is the dead letter the job was given, kept while the letter cannot be stored, so
	// that the job is never sent again and its letter keeps its reason, code and attempts.
	Decision *decision `json:"decision,omitempty"`
}

// decision is a dead letter's cause, as stored in a [jobState].
type decision struct {
	Reason     string `json:"reason"`
	Code       string `json:"code"`
	HTTPStatus int    `json:"http_status,omitempty"`
	Attempts   int    `json:"attempts"`
	Error      string `json:"error"` // errorText of the failure: one bounded line, secret-free
}

// failure rebuilds the dead letter's cause.
func (d *decision) failure() failure {
	return failure{reason: d.Reason, attempts: d.Attempts,
		err: &priorFailure{code: d.Code, status: d.HTTPStatus, text: d.Error}}
}

// priorFailure is a failure decided on an earlier delivery, as its dead letter will name it.
type priorFailure struct {
	code   string
	status int
	text   string
}

func (p *priorFailure) Error() string { return p.text }

// stateKey is keyed by the job's instance, which a redelivery keeps and a new publish does not.
func stateKey(j job) string { return "state." + j.instance() }

// errNoState is returned by [sentRecord.state] when the job has no state.
var errNoState = errors.New("no job state")

// state reads the state of j; errNoState when it has none.
func (r sentRecord) state(j job) (jobState, error) {
	ctx, cancel := context.WithTimeout(context.Background(), sentRecordTimeout)
	defer cancel()
	e, err := r.kv.Get(ctx, stateKey(j))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return jobState{}, errNoState
	}
	if err != nil {
		return jobState{}, err
	}
	var s jobState
	if err := json.Unmarshal(e.Value(), &s); err != nil || s.Deferrals < 0 || s.Posted < 0 {
		return jobState{}, fmt.Errorf("unreadable job state %.64q", e.Value())
	}
	return s, nil
}

// setState stores the state of j.
func (r sentRecord) setState(j job, s jobState) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), sentRecordTimeout)
	defer cancel()
	_, err = r.kv.Put(ctx, stateKey(j), b)
	return err
}

// born returns when the sent-record bucket was created, asking JetStream at most once a second.
// A job stored before the bucket was born may have lost its state with an earlier bucket.
func (r *bucketAge) born(kv jetstream.KeyValue) (time.Time, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.asked) < time.Second {
		return r.created, r.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), sentRecordTimeout)
	defer cancel()
	r.asked = time.Now()
	st, err := kv.Status(ctx)
	if err != nil {
		r.err = err
		return time.Time{}, err
	}
	r.err = nil
	if bs, ok := st.(*jetstream.KeyValueBucketStatus); ok {
		r.created = bs.StreamInfo().Created
	}
	return r.created, nil
}
