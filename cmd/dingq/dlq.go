package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/deadletters"
)

const dlqUsage = `Usage:
  dingq dlq list    [filters] [--json]
  dingq dlq show    <seq|job-id>... [--json] [--reveal]
  dingq dlq replay  <seq|job-id>... | --all | filters  [--dry-run] [--yes] [--json]
  dingq dlq purge   <seq|job-id>... | --all | filters  [--dry-run] [--yes] [--json]

Filters (list, replay, purge):
  --kind card|crossdomain|robot
  --reason rejected|exhausted|invalid
  --code CODE                    DingTalk's or dingq's error code, exactly
  --since 1h|2d|RFC3339          failed at or after (a duration counts back from now)
  --until 1h|2d|RFC3339          failed before
  --limit N                      the N oldest matches

A number names a dead letter by its sequence in the dead-letter stream; anything else is a job
id (write id:123 for a job id made of digits). Replaying or purging --all or a filter asks for
confirmation; --yes answers it, and is required when stdin is not a terminal.
Run 'dingq dlq <subcommand> -h' for every flag.
`

// dlqPurpose and dlqExample are each subcommand's line of help and example.
var (
	dlqPurpose = map[string]string{
		"list":   "List dead letters, oldest first: sequence, kind, job id, reason, code, time.",
		"show":   "Print dead letters whole: headers and body, sk and access_token values masked.",
		"replay": "Publish dead letters back to their job subjects, then remove them.",
		"purge":  "Remove dead letters without replaying them.",
	}
	dlqExample = map[string]string{
		"list":   "dingq dlq list --reason rejected --since 2h",
		"show":   "dingq dlq show 42",
		"replay": "dingq dlq replay --code systemBusy --since 1h --yes",
		"purge":  "dingq dlq purge --reason invalid --dry-run",
	}
)

// dlq is `dingq dlq list / show / replay / purge`.
func dlq(ctx context.Context, args []string, std stdio) error {
	subs := map[string]func(context.Context, []string, stdio) error{
		"list":   dlqList,
		"show":   dlqShow,
		"replay": dlqReplay,
		"purge":  dlqPurge,
	}
	if len(args) == 0 {
		fmt.Fprint(std.err, dlqUsage)
		return usageError{errors.New("want a subcommand: list, show, replay or purge")}
	}
	if sub, ok := subs[args[0]]; ok {
		return sub(ctx, args[1:], std)
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(std.out, dlqUsage)
		return flag.ErrHelp
	}
	fmt.Fprint(std.err, dlqUsage)
	return usageError{fmt.Errorf("unknown subcommand %q: want list, show, replay or purge", args[0])}
}

// dlqOptions are a dlq subcommand's settings and flags.
type dlqOptions struct {
	cfg config.Config
	dlqFlags
	filter deadletters.Filter
	// filtered: a filter flag was given, so replay and purge act on what it selects.
	filtered bool
	refs     []deadletters.Ref
}

// dlqFlags are the flags of dlq's own. They come from the command line only: a DINGQ_YES
// in the environment, or a yes: key in a shared configuration file, must not confirm a purge
// behind the operator's back, nor a stray kind: narrow every listing.
type dlqFlags struct {
	json                bool
	kind, reason, code  string
	since, until, limit string
	all, dryRun, yes    bool
	reveal              bool
}

// dlqTakes says which flag groups a subcommand takes beside the connection settings and --json.
type dlqTakes struct {
	filters bool // --kind, --reason, --code, --since, --until, --limit
	acts    bool // --all, --dry-run, --yes
	show    bool // --reveal
}

func (v *dlqFlags) define(fs *flag.FlagSet, which dlqTakes) {
	fs.BoolVar(&v.json, "json", false, "print JSON, one object per line")
	if which.filters {
		fs.StringVar(&v.kind, "kind", "", "only this kind: card, crossdomain or robot")
		fs.StringVar(&v.reason, "reason", "", "only this reason: rejected, exhausted or invalid")
		fs.StringVar(&v.code, "code", "", "only this error code (chatbotNotInstall, 40035, invalid_field, ...)")
		fs.StringVar(&v.since, "since", "", "only jobs that failed at or after this: a duration back from now (90m, 1h, 2d), an RFC 3339 time or a date")
		fs.StringVar(&v.until, "until", "", "only jobs that failed before this: a duration back from now, an RFC 3339 time or a date")
		fs.StringVar(&v.limit, "limit", "", "at most this many dead letters, the oldest first (default: all)")
	}
	if which.acts {
		fs.BoolVar(&v.all, "all", false, "every dead letter (narrowed by any filter)")
		fs.BoolVar(&v.dryRun, "dry-run", false, "print what would be done and change nothing")
		fs.BoolVar(&v.yes, "yes", false, "do not ask for confirmation")
	}
	if which.show {
		fs.BoolVar(&v.reveal, "reveal", false, "print the letter unmasked; without it the values of sk and access_token (JSON members, URL query parameters) print as "+deadletters.Masked)
	}
}

// parseDLQ reads a subcommand's flags and positional arguments (sequences or job ids), flags
// before or after them. Every mistake is a usageError that names its flag.
func parseDLQ(name, positional string, args []string, std stdio, which dlqTakes) (*dlqOptions, error) {
	o := &dlqOptions{cfg: config.Default()}
	fs := newFlagSet("dlq "+name, std.err)
	o.cfg.Register(fs)
	o.define(fs, which)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: dingq dlq %s %s\n\n%s\n\nExample:\n  %s\n\nFlags:\n", name, positional, dlqPurpose[name], dlqExample[name])
		fs.PrintDefaults()
	}
	pos, err := config.Parse(fs, args, withoutOwnFlags(std.getenv))
	if err != nil {
		return nil, usageError{err}
	}
	o.dlqFlags = commandLineOnly(args, which)
	if err := o.cfg.Validate(); err != nil {
		return nil, usageError{err}
	}
	if err := o.readFilter(time.Now()); err != nil {
		return nil, usageError{err}
	}
	for _, p := range pos {
		r, err := deadletters.ParseRef(p)
		if err != nil {
			return nil, usageError{err}
		}
		o.refs = append(o.refs, r)
	}
	return o, nil
}

// withoutOwnFlags hides the variables of dlq's own flags (DINGQ_YES, DINGQ_KIND, ...) from
// config.Parse: they are not read, so they must not fail a run with an unusable value either.
func withoutOwnFlags(getenv func(string) string) func(string) string {
	own := map[string]bool{}
	var v dlqFlags
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	v.define(fs, dlqTakes{filters: true, acts: true, show: true})
	fs.VisitAll(func(f *flag.Flag) { own[config.EnvName(f.Name)] = true })
	return func(k string) string {
		if own[k] {
			return ""
		}
		return getenv(k)
	}
}

// commandLineOnly returns dlq's own flags as args alone give them, parsed as config.Parse parses
// (flags and positional arguments in any order). args parsed there first, so it has no mistake
// left to report.
func commandLineOnly(args []string, which dlqTakes) dlqFlags {
	var v dlqFlags
	var scratch config.Config
	fs := flag.NewFlagSet("dlq", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	scratch.Register(fs)
	v.define(fs, which)
	for fs.Parse(args) == nil && fs.NArg() > 0 {
		args = fs.Args()[1:]
	}
	return v
}

// readFilter turns the filter flags into o.filter.
func (o *dlqOptions) readFilter(now time.Time) error {
	f := &o.filter
	var errs []error
	if o.kind != "" {
		k, err := schema.ParseKind(o.kind)
		if err != nil {
			errs = append(errs, fmt.Errorf("--kind: %w", err))
		}
		f.Kind = k
	}
	switch o.reason {
	case "", schema.ReasonRejected, schema.ReasonExhausted, schema.ReasonInvalid:
		f.Reason = o.reason
	default:
		errs = append(errs, fmt.Errorf("--reason %q: want rejected, exhausted or invalid", o.reason))
	}
	f.Code = o.code
	var err error
	if f.Since, err = parseWhen(o.since, now); err != nil {
		errs = append(errs, fmt.Errorf("--since: %w", err))
	}
	if f.Until, err = parseWhen(o.until, now); err != nil {
		errs = append(errs, fmt.Errorf("--until: %w", err))
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		errs = append(errs, fmt.Errorf("--since %s is not before --until %s", o.since, o.until))
	}
	if o.limit != "" {
		if f.Limit, err = strconv.Atoi(o.limit); err != nil || f.Limit < 1 {
			errs = append(errs, fmt.Errorf("--limit %q: want a number, 1 or more", o.limit))
		}
	}
	o.filtered = *f != deadletters.Filter{}
	return errors.Join(errs...)
}

// parseWhen reads a point in time: "" (none), a duration back from now ("90m", "2d"), an
// RFC 3339 time, or a date (midnight UTC).
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration back from now (90m, 1h, 2d) nor an RFC 3339 time (2025-01-31T08:00:00Z) or UTC date (2025-01-31)", s)
}

// openDeadLetters connects and opens the dead-letter store; close releases the connection.
func (o *dlqOptions) openDeadLetters(ctx context.Context) (store *deadletters.Store, close func(), err error) {
	nc, js, err := connectClient(o.cfg)
	if err != nil {
		return nil, nil, err
	}
	if store, err = deadletters.Open(ctx, js, schema.NewNames(o.cfg.SubjectPrefix)); err != nil {
		nc.Close()
		return nil, nil, err
	}
	return store, func() { closeClient(nc) }, nil
}

// closeClient flushes what was published and closes the connection.
func closeClient(nc *nats.Conn) {
	_ = nc.FlushTimeout(5 * time.Second)
	nc.Close()
}
