package producer_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/schema/producer"
)

// PublishBatch tells every job's outcome in order, as Publish would: the valid ones published
// with their ids, a duplicate reported, an invalid one refused before NATS; and it stops
// publishing when told to.
func TestPublishBatchTellsEachOutcomeInOrder(t *testing.T) {
	js, stream := startStreams(t, schema.Names{})
	p := newProducer(t, js)
	var jobs []producer.Job
	for i := range 600 { // more than one window of acks in flight
		jobs = append(jobs, producer.Card(templateCard(fmt.Sprintf("batch-%d", i))))
	}
	jobs[10] = producer.Job{Kind: schema.KindCard, Body: []byte(`{"cardTemplateId":"x"}`)} // invalid
	jobs[20] = jobs[5]                                                                     // a duplicate of job 5
	var order []int
	var invalid, dups int
	n, err := p.PublishBatch(t.Context(), jobs, func(i int, res producer.Result, err error) bool {
		order = append(order, i)
		var ve *schema.ValidationError
		switch {
		case errors.As(err, &ve):
			invalid++
		case err != nil:
			t.Errorf("job %d: %v", i, err)
		case res.Duplicate:
			dups++
		case res.JobID != fmt.Sprintf("batch-%d", i):
			t.Errorf("job %d published as %q", i, res.JobID)
		}
		return true
	})
	if err != nil || n != len(jobs) {
		t.Fatalf("PublishBatch: %d, %v", n, err)
	}
	for i, got := range order {
		if got != i {
			t.Fatalf("told of job %d in place %d", got, i)
		}
	}
	if len(order) != len(jobs) || invalid != 1 || dups != 1 {
		t.Errorf("told %d outcomes, %d invalid, %d duplicates; want %d, 1, 1", len(order), invalid, dups, len(jobs))
	}
	if got := messages(t, stream); got != uint64(len(jobs)-2) {
		t.Errorf("the stream holds %d jobs, want %d", got, len(jobs)-2)
	}

	// Told to stop at job 2, it publishes no job after the window that job was in: a full
	// stream's refusal stops a long run early.
	var more []producer.Job
	for i := range 600 {
		more = append(more, producer.Card(templateCard(fmt.Sprintf("stop-%d", i))))
	}
	n, err = p.PublishBatch(t.Context(), more, func(i int, _ producer.Result, _ error) bool { return i != 2 })
	if err != nil || n < 3 || n > 256 {
		t.Errorf("stopped at job 2: %d published, %v; want at most one window (256)", n, err)
	}
}
