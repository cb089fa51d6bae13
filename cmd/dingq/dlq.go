package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/cmd/internal/natsconn"
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
	json             bool
	spec             deadletters.FilterSpec
	all, dryRun, yes bool
	reveal           bool
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
		fs.StringVar(&v.spec.Kind, "kind", "", "only this kind: card, crossdomain or robot")
		fs.StringVar(&v.spec.Reason, "reason", "", "only this reason: rejected, exhausted or invalid")
		fs.StringVar(&v.spec.Code, "code", "", "only this error code (chatbotNotInstall, 40035, invalid_field, ...)")
		fs.StringVar(&v.spec.Since, "since", "", "only jobs that failed at or after this: a duration back from now (90m, 1h, 2d), an RFC 3339 time or a date")
		fs.StringVar(&v.spec.Until, "until", "", "only jobs that failed before this: a duration back from now, an RFC 3339 time or a date")
		fs.StringVar(&v.spec.Limit, "limit", "", "at most this many dead letters, the oldest first (default: all)")
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
	if o.filter, err = deadletters.ParseFilter(o.spec, time.Now()); err != nil {
		return nil, usageError{flagErrors(err)}
	}
	o.filtered = o.filter != deadletters.Filter{}
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

// flagErrors names, in each of a filter's mistakes, the flag it is about: "--since: ...".
func flagErrors(err error) error {
	var errs []error
	for _, fe := range deadletters.FieldErrors(err) {
		errs = append(errs, fmt.Errorf("--%s: %w", fe.Field, fe.Err))
	}
	if len(errs) == 0 {
		return err
	}
	return errors.Join(errs...)
}

// openDeadLetters connects and opens the dead-letter store; close releases the connection.
func (o *dlqOptions) openDeadLetters(ctx context.Context) (store *deadletters.Store, close func(), err error) {
	nc, js, err := natsconn.Client(o.cfg)
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
