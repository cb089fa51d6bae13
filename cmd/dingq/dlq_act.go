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

	"github.com/dustin/go-humanize"

	"github.com/dingq/dingq/worker/deadletters"
)

// dlqReplay is `dingq dlq replay`: each selected dead letter goes back to its job subject with a
// new, deterministic Nats-Msg-Id, and is deleted once JetStream has acknowledged that publish.
func dlqReplay(ctx context.Context, args []string, std stdio) error {
	return dlqAct(ctx, "replay", args, std)
}

// dlqPurge is `dingq dlq purge`: the selected dead letters are deleted.
func dlqPurge(ctx context.Context, args []string, std stdio) error {
	return dlqAct(ctx, "purge", args, std)
}

// dlqAct runs replay or purge (verb): it selects, previews a dry run, asks for confirmation,
// acts, and says what it did. A replay that kept dead letters it could not replay says why, and
// fails.
func dlqAct(ctx context.Context, verb string, args []string, std stdio) error {
	a, err := newDLQAction(ctx, verb, args, std)
	if err != nil {
		return err
	}
	defer a.done()
	sel, err := a.store.Select(ctx, a.refs, a.filter, verb == "replay")
	if err != nil {
		return refErrors(err)
	}
	n := len(sel.Letters)
	if n == 0 {
		a.say("no dead letters match")
		return nil
	}
	if a.dryRun {
		return a.preview(sel.Letters, "would "+verb)
	}
	if err := a.confirm(n); err != nil {
		return err
	}
	act, past := a.store.PurgeSelection, "purged"
	if verb == "replay" {
		act, past = a.store.ReplaySelection, "replayed"
	}
	out, err := act(ctx, sel, a.report(past, n))
	if err != nil {
		return err
	}
	a.say("%s", out)
	if len(out.Kept) > 0 {
		return fmt.Errorf("%d dead letter(s) not replayed, kept in the dead-letter stream:\n%w", len(out.Kept), errors.Join(out.Kept[:min(len(out.Kept), maxListedErrors)]...))
	}
	return nil
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
	a.say("dry run: %s %s dead letter(s); nothing was changed", what, humanize.Comma(int64(len(letters))))
	return nil
}

// confirm asks the operator, when the run needs it, on stderr, and reads the answer from stdin.
func (a *dlqAction) confirm(n int) error {
	if !a.asks() {
		return nil
	}
	fmt.Fprintf(a.std.err, "%s %s dead letter(s)? [y/N] ", a.verb, humanize.Comma(int64(n)))
	answer, _ := bufio.NewReader(a.std.in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return fmt.Errorf("not confirmed; nothing was changed")
}

// report returns the callback that prints, with --json, each dead letter acted on, and reports
// the progress of a long run on stderr, at most once a second. The clock starts at the first dead
// letter done: a purge in one request reports them all at once, with no progress to show.
func (a *dlqAction) report(past string, total int) func(deadletters.Item) {
	enc := json.NewEncoder(a.std.out)
	n, last := 0, time.Time{}
	return func(it deadletters.Item) {
		if a.json {
			_ = enc.Encode(it)
		}
		switch n++; {
		case last.IsZero():
			last = time.Now()
		case n < total && time.Since(last) >= time.Second:
			fmt.Fprintf(a.std.err, "%s %s of %s...\n", past, humanize.Comma(int64(n)), humanize.Comma(int64(total)))
			last = time.Now()
		}
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

// isTerminal reports whether r is an interactive terminal (a character device).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
