package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dingq/dingq/worker/deadletters"
)

// dlqReplay is `dingq dlq replay`: each selected dead letter goes back to its job subject with a
// new, deterministic Nats-Msg-Id, and is deleted once JetStream has acknowledged that publish.
func dlqReplay(ctx context.Context, args []string, std stdio) error {
	a, err := newDLQAction(ctx, "replay", args, std)
	if err != nil {
		return err
	}
	defer a.done()
	letters, err := a.selection(ctx, true)
	if err != nil || len(letters) == 0 {
		return err
	}
	if a.dryRun {
		return a.preview(letters, "would replay")
	}
	if err := a.confirm(len(letters)); err != nil {
		return err
	}
	return a.replay(ctx, letters)
}

// dlqPurge is `dingq dlq purge`: the selected dead letters are deleted.
func dlqPurge(ctx context.Context, args []string, std stdio) error {
	a, err := newDLQAction(ctx, "purge", args, std)
	if err != nil {
		return err
	}
	defer a.done()
	letters, err := a.selection(ctx, false)
	if err != nil || len(letters) == 0 {
		return err
	}
	if a.dryRun {
		return a.preview(letters, "would purge")
	}
	if err := a.confirm(len(letters)); err != nil {
		return err
	}
	return a.purge(ctx, letters)
}

// dlqAction is one run of replay or purge.
type dlqAction struct {
	*dlqOptions
	verb  string // "replay" or "purge"
	std   stdio
	store *deadletters.Store
	done  func()
}

// newDLQAction parses the command line, checks that it selects something and can be confirmed,
// and connects.
func newDLQAction(ctx context.Context, verb string, args []string, std stdio) (*dlqAction, error) {
	o, err := parseDLQ(verb, "<seq|job-id>... | --all | filters  [--dry-run] [--yes] [--json]", args, std, dlqTakes{filters: true, acts: true})
	if err != nil {
		return nil, err
	}
	switch {
	case len(o.refs) > 0 && (o.all || o.filtered):
		return nil, usageError{errors.New("name dead letters, or select them with --all or filters, not both")}
	case len(o.refs) == 0 && !o.all && !o.filtered:
		return nil, usageError{fmt.Errorf("say which dead letters to %s: <seq|job-id>..., --all, or filters (--kind, --reason, --code, --since, --until, --limit)", verb)}
	case o.asks() && !isTerminal(std.in):
		return nil, usageError{fmt.Errorf("refusing to %s a selection without confirmation: stdin is not a terminal; add --yes (or --dry-run to see what it selects)", verb)}
	}
	a := &dlqAction{dlqOptions: o, verb: verb, std: std}
	a.store, a.done, err = o.openDeadLetters(ctx)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// asks reports whether the run needs the operator's confirmation: a selection by --all or
// filters, acted on, without --yes. Dead letters named one by one need none.
func (o *dlqOptions) asks() bool { return len(o.refs) == 0 && !o.dryRun && !o.yes }

// selection returns the summaries of the dead letters the run acts on, oldest first. A job id
// that names several dead letters is refused by a replay, which would send the job several times.
func (a *dlqAction) selection(ctx context.Context, oneEach bool) ([]deadletters.Letter, error) {
	var out []deadletters.Letter
	if len(a.refs) == 0 {
		err := a.store.Scan(ctx, a.filter, func(l deadletters.Letter) error {
			out = append(out, l.Summary())
			return nil
		})
		if err == nil && len(out) == 0 {
			a.say("no dead letters match")
		}
		return out, err
	}
	found, err := a.store.Resolve(ctx, a.refs)
	if err != nil {
		return nil, refErrors(err)
	}
	seen := map[uint64]bool{}
	var errs []error
	for i, ls := range found {
		if oneEach && len(ls) > 1 {
			errs = append(errs, fmt.Errorf("%s names %d dead letters (seq %s): name the ones to %s by seq", a.refs[i], len(ls), seqList(ls), a.verb))
		}
		for _, l := range ls {
			if !seen[l.Seq] {
				seen[l.Seq] = true
				out = append(out, l.Summary())
			}
		}
	}
	return out, errors.Join(errs...)
}

// preview prints what a dry run selected, as `list` does, and says that nothing changed.
func (a *dlqAction) preview(letters []deadletters.Letter, what string) error {
	t := newLetterTable(a.std.out, a.json)
	for _, l := range letters {
		if err := t.add(l); err != nil {
			return err
		}
	}
	if err := t.flush(); err != nil {
		return err
	}
	a.say("dry run: %s %s dead letter(s); nothing was changed", what, thousands(len(letters)))
	return nil
}

// confirm asks the operator, when the run needs it, on stderr, and reads the answer from stdin.
func (a *dlqAction) confirm(n int) error {
	if !a.asks() {
		return nil
	}
	fmt.Fprintf(a.std.err, "%s %s dead letter(s)? [y/N] ", a.verb, thousands(n))
	answer, _ := bufio.NewReader(a.std.in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return fmt.Errorf("not confirmed; nothing was changed")
}

// replay replays letters one at a time, oldest first. A dead letter that cannot be replayed for
// a reason of its own (no job subject, a truncated body, a replay id already holding another or
// an uncheckable message) is kept, reported, and skipped; any other failure stops the run, which
// is safe to start again.
func (a *dlqAction) replay(ctx context.Context, letters []deadletters.Letter) error {
	p := newProgress(a.std.err, "replayed", len(letters))
	var replayed, earlier, gone int
	kept := map[string]int{}
	var notReplayed []error
	for i, l := range letters {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted after %d of %d dead letters: %w; run the same command again to go on: nothing was lost or sent twice", i, len(letters), err)
		}
		r, err := a.store.Replay(ctx, l.Seq)
		switch result := keptResult(err); {
		case errors.Is(err, deadletters.ErrNotFound):
			gone++
			a.item(itemLine{Seq: l.Seq, Kind: string(l.Kind), JobID: l.JobID, Result: "gone"})
		case result != "":
			kept[result]++
			notReplayed = append(notReplayed, err)
			line := itemLine{Seq: l.Seq, Kind: string(l.Kind), JobID: l.JobID, Result: result, Error: err.Error()}
			if r.Duplicate { // published, and found the id taken: where
				line.Subject, line.MsgID, line.JobSeq = r.Subject, r.MsgID, r.JobSeq
			}
			a.item(line)
		case err != nil:
			return fmt.Errorf("after %d of %d dead letters: %w; run the same command again to go on: a dead letter whose publish was acknowledged is not sent twice", i, len(letters), err)
		default:
			if r.Duplicate {
				earlier++
			} else {
				replayed++
			}
			a.item(replayedLine(r))
		}
		p.update(i + 1)
	}
	a.say("replayed %s dead letter(s) to their job subjects%s", thousands(replayed+earlier), notes(
		note(earlier, "already published by an earlier, interrupted replay, checked; only removed"),
		note(gone, "gone before their turn"),
		note(kept["skipped"], "skipped: no job subject"),
		note(kept["truncated"], "kept: body truncated, cannot be replayed"),
		note(kept["conflict"], "kept: another message holds the replay's id"),
		note(kept["unverified"], "kept: the replay's id was already used and its job is gone, so it cannot be checked")))
	if len(notReplayed) > 0 {
		return fmt.Errorf("%d dead letter(s) not replayed, kept in the dead-letter stream:\n%w", len(notReplayed), errors.Join(notReplayed[:min(len(notReplayed), maxListedErrors)]...))
	}
	return nil
}

// keptResult names why a replay kept its dead letter, as the result of its --json line, or ""
// when err is not such a reason.
func keptResult(err error) string {
	switch {
	case errors.Is(err, deadletters.ErrNotJobSubject):
		return "skipped"
	case errors.Is(err, deadletters.ErrTruncated):
		return "truncated"
	case errors.Is(err, deadletters.ErrReplayConflict):
		return "conflict"
	case errors.Is(err, deadletters.ErrReplayUnverified):
		return "unverified"
	}
	return ""
}

// purge deletes letters: in one request when the selection is every dead letter of a subject up
// to some sequence (no header filter), one at a time otherwise.
func (a *dlqAction) purge(ctx context.Context, letters []deadletters.Letter) error {
	gone := 0
	if len(a.refs) == 0 && !a.filter.ByHeaders() {
		if err := a.store.PurgeThrough(ctx, a.filter.Kind, letters[len(letters)-1].Seq); err != nil {
			return err
		}
		for _, l := range letters {
			a.item(itemLine{Seq: l.Seq, Kind: string(l.Kind), JobID: l.JobID, Result: "purged"})
		}
	} else {
		p := newProgress(a.std.err, "purged", len(letters))
		for i, l := range letters {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("interrupted after %d of %d dead letters: %w", i, len(letters), err)
			}
			result := "purged"
			if err := a.store.Delete(ctx, l.Seq); errors.Is(err, deadletters.ErrNotFound) {
				gone++
				result = "gone"
			} else if err != nil {
				return fmt.Errorf("after %d of %d dead letters: %w", i, len(letters), err)
			}
			a.item(itemLine{Seq: l.Seq, Kind: string(l.Kind), JobID: l.JobID, Result: result})
			p.update(i + 1)
		}
	}
	a.say("purged %s dead letter(s)%s", thousands(len(letters)-gone), notes(note(gone, "gone before their turn")))
	return nil
}

// itemLine is one dead letter acted on, as --json prints it. Its result is replayed,
// already_replayed, purged or gone; or, for a dead letter a replay kept: skipped (no job
// subject), truncated, conflict (another message holds the replay's id) or unverified (the
// replay's id was used and its job is gone).
type itemLine struct {
	Seq     uint64 `json:"seq"`
	Kind    string `json:"kind"`
	JobID   string `json:"job_id"`
	Result  string `json:"result"`
	Subject string `json:"subject,omitempty"`
	MsgID   string `json:"msg_id,omitempty"`
	JobSeq  uint64 `json:"job_seq,omitempty"`
	Error   string `json:"error,omitempty"`
}

func replayedLine(r deadletters.Replayed) itemLine {
	result := "replayed"
	if r.Duplicate {
		result = "already_replayed"
	}
	return itemLine{Seq: r.Seq, Kind: string(r.Kind), JobID: r.JobID, Result: result, Subject: r.Subject, MsgID: r.MsgID, JobSeq: r.JobSeq}
}

// item prints one line per dead letter with --json; text output has only the summary.
func (a *dlqAction) item(line itemLine) {
	if a.json {
		_ = json.NewEncoder(a.std.out).Encode(line)
	}
}

// say prints a summary: on stdout, or on stderr with --json, which keeps stdout for JSON.
func (a *dlqAction) say(format string, args ...any) {
	w := a.std.out
	if a.json {
		w = a.std.err
	}
	fmt.Fprintf(w, format+"\n", args...)
}

// progress reports a long run on stderr, at most once a second.
type progress struct {
	w     io.Writer
	verb  string
	total int
	last  time.Time
}

func newProgress(w io.Writer, verb string, total int) *progress {
	return &progress{w: w, verb: verb, total: total, last: time.Now()}
}

func (p *progress) update(done int) {
	if done < p.total && time.Since(p.last) >= time.Second {
		fmt.Fprintf(p.w, "%s %s of %s...\n", p.verb, thousands(done), thousands(p.total))
		p.last = time.Now()
	}
}

func note(n int, what string) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%s %s", thousands(n), what)
}

// notes joins the non-empty notes in parentheses.
func notes(ns ...string) string {
	var kept []string
	for _, n := range ns {
		if n != "" {
			kept = append(kept, n)
		}
	}
	if len(kept) == 0 {
		return ""
	}
	return " (" + strings.Join(kept, "; ") + ")"
}

func seqList(ls []deadletters.Letter) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = fmt.Sprint(l.Seq)
	}
	return strings.Join(s, ", ")
}

// isTerminal reports whether r is an interactive terminal (a character device).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
