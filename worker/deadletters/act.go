package deadletters

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dustin/go-humanize"

	"github.com/dingq/dingq/schema"
)

// Result names what became of one dead letter of a selection that was replayed or purged.
type Result string

// The results of a replay or a purge. A replay keeps a dead letter it cannot replay for a reason
// of its own, with ResultSkipped, ResultTruncated, ResultConflict or ResultUnverified.
const (
	ResultReplayed        Result = "replayed"         // published to its job subject, and removed
	ResultAlreadyReplayed Result = "already_replayed" // an earlier, interrupted replay published it (checked); removed
	ResultPurged          Result = "purged"           // removed
	ResultGone            Result = "gone"             // no longer there when its turn came
	ResultSkipped         Result = "skipped"          // kept: no job subject ([ErrNotJobSubject])
	ResultTruncated       Result = "truncated"        // kept: its body was truncated ([ErrTruncated])
	ResultConflict        Result = "conflict"         // kept: another message holds the replay's id ([ErrReplayConflict])
	ResultUnverified      Result = "unverified"       // kept: the replay's id was used and its job is gone ([ErrReplayUnverified])
)

// Item is one dead letter a replay or a purge acted on, and what became of it. Its JSON form is
// a line of `dingq dlq replay --json` and `dingq dlq purge --json`.
type Item struct {
	Seq    uint64      `json:"seq"`
	Kind   schema.Kind `json:"kind"`
	JobID  string      `json:"job_id"`
	Result Result      `json:"result"`
	// Subject, MsgID and JobSeq say where a replay published the job, or found the replay's id
	// taken (see [Replayed]).
	Subject string `json:"subject,omitempty"`
	MsgID   string `json:"msg_id,omitempty"`
	JobSeq  uint64 `json:"job_seq,omitempty"`
	// Error is why a replay kept the dead letter.
	Error string `json:"error,omitempty"`
}

// Outcome is what a replay or a purge of a selection did.
type Outcome struct {
	// Count is how many dead letters ended with each result.
	Count map[Result]int
	// Kept holds, in order, why a replay kept each dead letter it did not replay: errors
	// wrapping [ErrNotJobSubject], [ErrTruncated], [ErrReplayConflict] or [ErrReplayUnverified].
	Kept []error
	// replay is set for a replay's outcome, unset for a purge's.
	replay bool
}

// ReplaySelection replays sel's dead letters one at a time, in order, with [Store.Replay], and
// calls each with what became of every one. A dead letter that cannot be replayed for a reason
// of its own is kept, reported and counted, and the run goes on; any other failure, or ctx's end,
// stops it with an error saying how far it got. Running it again is safe: a dead letter whose
// publish was acknowledged is not sent twice.
func (s *Store) ReplaySelection(ctx context.Context, sel Selection, each func(Item)) (Outcome, error) {
	out := Outcome{Count: map[Result]int{}, replay: true}
	for i, l := range sel.Letters {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("interrupted after %d of %d dead letters: %w; run the same command again to go on: nothing was lost or sent twice", i, len(sel.Letters), err)
		}
		r, err := s.Replay(ctx, l.Seq)
		it, ok := replayItem(l, r, err)
		if !ok {
			return out, fmt.Errorf("after %d of %d dead letters: %w; run the same command again to go on: a dead letter whose publish was acknowledged is not sent twice", i, len(sel.Letters), err)
		}
		if it.Error != "" {
			out.Kept = append(out.Kept, err)
		}
		out.Count[it.Result]++
		each(it)
	}
	return out, nil
}

// replayItem is what the replay of l did, from what [Store.Replay] returned, or false for an
// error that must stop the run.
func replayItem(l Letter, r Replayed, err error) (Item, bool) {
	it := Item{Seq: l.Seq, Kind: l.Kind, JobID: l.JobID}
	switch {
	case errors.Is(err, ErrNotFound):
		it.Result = ResultGone
		return it, true
	case errors.Is(err, ErrNotJobSubject):
		it.Result = ResultSkipped
	case errors.Is(err, ErrTruncated):
		it.Result = ResultTruncated
	case errors.Is(err, ErrReplayConflict):
		it.Result = ResultConflict
	case errors.Is(err, ErrReplayUnverified):
		it.Result = ResultUnverified
	case err != nil:
		return it, false
	case r.Duplicate:
		it.Result = ResultAlreadyReplayed
	default:
		it.Result = ResultReplayed
	}
	if err != nil {
		it.Error = err.Error()
	}
	if err == nil || r.Duplicate { // published, or found the id taken: where
		it.Subject, it.MsgID, it.JobSeq = r.Subject, r.MsgID, r.JobSeq
	}
	return it, true
}

// PurgeSelection removes sel's dead letters and calls each with what became of every one: in one
// request ([Store.PurgeThrough]) when sel is every dead letter of a subject up to some sequence (a
// filter by kind and limit only), one at a time, in order, otherwise. A failure, or ctx's end,
// stops the run with an error saying how far it got.
func (s *Store) PurgeSelection(ctx context.Context, sel Selection, each func(Item)) (Outcome, error) {
	out := Outcome{Count: map[Result]int{}}
	if sel.whole && len(sel.Letters) > 0 {
		if err := s.PurgeThrough(ctx, sel.kind, sel.Letters[len(sel.Letters)-1].Seq); err != nil {
			return out, err
		}
		for _, l := range sel.Letters {
			out.Count[ResultPurged]++
			each(Item{Seq: l.Seq, Kind: l.Kind, JobID: l.JobID, Result: ResultPurged})
		}
		return out, nil
	}
	for i, l := range sel.Letters {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("interrupted after %d of %d dead letters: %w", i, len(sel.Letters), err)
		}
		result := ResultPurged
		if err := s.Delete(ctx, l.Seq); errors.Is(err, ErrNotFound) {
			result = ResultGone
		} else if err != nil {
			return out, fmt.Errorf("after %d of %d dead letters: %w", i, len(sel.Letters), err)
		}
		out.Count[result]++
		each(Item{Seq: l.Seq, Kind: l.Kind, JobID: l.JobID, Result: result})
	}
	return out, nil
}

// outcomeNotes are what String says, in this order, of the dead letters that were not simply
// replayed or purged.
var outcomeNotes = []struct {
	result Result
	what   string
}{
	{ResultAlreadyReplayed, "already published by an earlier, interrupted replay, checked; only removed"},
	{ResultGone, "gone before their turn"},
	{ResultSkipped, "skipped: no job subject"},
	{ResultTruncated, "kept: body truncated, cannot be replayed"},
	{ResultConflict, "kept: another message holds the replay's id"},
	{ResultUnverified, "kept: the replay's id was already used and its job is gone, so it cannot be checked"},
}

// String says what the run did in one sentence, as dingq dlq prints it: "replayed 3 dead
// letter(s) to their job subjects (1 gone before their turn)", or "purged 2 dead letter(s)".
func (o Outcome) String() string {
	var notes []string
	for _, n := range outcomeNotes {
		if c := o.Count[n.result]; c > 0 {
			notes = append(notes, humanize.Comma(int64(c))+" "+n.what)
		}
	}
	s := "purged " + humanize.Comma(int64(o.Count[ResultPurged])) + " dead letter(s)"
	if o.replay {
		s = "replayed " + humanize.Comma(int64(o.Count[ResultReplayed]+o.Count[ResultAlreadyReplayed])) + " dead letter(s) to their job subjects"
	}
	if len(notes) > 0 {
		s += " (" + strings.Join(notes, "; ") + ")"
	}
	return s
}
