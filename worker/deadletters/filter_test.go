package deadletters_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/deadletters"
)

func TestParseFilter(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		spec deadletters.FilterSpec
		want deadletters.Filter
	}{
		{deadletters.FilterSpec{}, deadletters.Filter{}},
		{deadletters.FilterSpec{Kind: "card", Reason: "rejected", Code: "40035", Limit: "3"},
			deadletters.Filter{Kind: schema.KindCard, Reason: schema.ReasonRejected, Code: "40035", Limit: 3}},
		{deadletters.FilterSpec{JobID: "job-17", Code: "40035"}, deadletters.Filter{JobID: "job-17", Code: "40035"}},
		{deadletters.FilterSpec{Since: "90m"}, deadletters.Filter{Since: now.Add(-90 * time.Minute)}},
		{deadletters.FilterSpec{Since: "2d", Until: "1h"}, deadletters.Filter{Since: now.AddDate(0, 0, -2), Until: now.Add(-time.Hour)}},
		{deadletters.FilterSpec{Since: "2025-03-01T08:00:00+08:00"}, deadletters.Filter{Since: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}},
		{deadletters.FilterSpec{Until: "2025-03-01"}, deadletters.Filter{Until: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, c := range cases {
		got, err := deadletters.ParseFilter(c.spec, now)
		got.Since, got.Until = got.Since.UTC(), got.Until.UTC() // an RFC 3339 time keeps its offset
		if err != nil || got != c.want {
			t.Errorf("ParseFilter(%+v) = %+v, %v; want %+v", c.spec, got, err, c.want)
		}
	}
}

// Every mistake is reported, each naming its field, so that a form shows it next to the field
// and the command line names the flag.
func TestParseFilterNamesTheFieldOfEachMistake(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		spec   deadletters.FilterSpec
		fields []string
		says   string
	}{
		{deadletters.FilterSpec{Kind: "fax"}, []string{"kind"}, `"fax"`},
		{deadletters.FilterSpec{Reason: "tired"}, []string{"reason"}, `"tired"`},
		{deadletters.FilterSpec{Since: "yesterday"}, []string{"since"}, "neither a duration"},
		{deadletters.FilterSpec{Since: "-1h"}, []string{"since"}, `"-1h"`},
		{deadletters.FilterSpec{Until: "soon"}, []string{"until"}, `"soon"`},
		{deadletters.FilterSpec{Since: "1h", Until: "2h"}, []string{"since"}, "not before"},
		{deadletters.FilterSpec{Limit: "0"}, []string{"limit"}, `"0"`},
		{deadletters.FilterSpec{Limit: "ten"}, []string{"limit"}, `"ten"`},
		{deadletters.FilterSpec{Kind: "fax", Until: "soon", Limit: "-2"}, []string{"kind", "until", "limit"}, "soon"},
	}
	for _, c := range cases {
		f, err := deadletters.ParseFilter(c.spec, now)
		if err == nil || f != (deadletters.Filter{}) {
			t.Errorf("ParseFilter(%+v) = %+v, %v; want an error and no filter", c.spec, f, err)
			continue
		}
		var fields []string
		for _, fe := range deadletters.FieldErrors(err) {
			fields = append(fields, fe.Field)
			if strings.HasPrefix(fe.Err.Error(), fe.Field) {
				t.Errorf("%s: %q names its field again", fe.Field, fe.Err)
			}
		}
		if !slices.Equal(fields, c.fields) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("ParseFilter(%+v): fields %v, error %q; want fields %v and %q", c.spec, fields, err, c.fields, c.says)
		}
		if !strings.HasPrefix(err.Error(), c.fields[0]+": ") {
			t.Errorf("error %q does not start with its field", err)
		}
	}
	var fe *deadletters.FieldError
	if _, err := deadletters.ParseFilter(deadletters.FilterSpec{Limit: "0"}, now); !errors.As(err, &fe) || fe.Field != "limit" {
		t.Errorf("errors.As finds %+v in the error", fe)
	}
	if got := deadletters.FieldErrors(errors.New("other")); got != nil {
		t.Errorf("FieldErrors of another error = %v", got)
	}
}

// A job id condition looks at headers: a purge by it deletes that job's dead letters one at a
// time, never every dead letter of the kind up to the last one's sequence.
func TestPurgeByJobIDDeletesOnlyThatJobsDeadLetters(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	api := e.watchAPI()
	for _, job := range []string{"c1", "j", "c2", "j", "c3"} {
		e.put(letter{kind: schema.KindCard, job: job, reason: schema.ReasonRejected})
	}
	f := deadletters.Filter{Kind: schema.KindCard, JobID: "j"}
	if !f.ByHeaders() {
		t.Error("a job id condition does not look at headers")
	}
	sel, err := e.store.Select(ctx, nil, f, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := seqs(sel.Letters); !slices.Equal(got, []uint64{2, 4}) {
		t.Fatalf("selected %v, want [2 4]", got)
	}
	results, _ := e.purge(sel)
	if p, d := api.counts(); p != 0 || d != 2 || len(results) != 2 {
		t.Errorf("%d purge and %d delete requests, results %v; want 2 deletes", p, d, results)
	}
	if got := e.scan(deadletters.Filter{}); !slices.Equal(got, []string{"c1", "c2", "c3"}) {
		t.Errorf("left %v, want [c1 c2 c3]", got)
	}
}
