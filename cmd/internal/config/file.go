package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The configuration file is YAML. Its keys are the flags' names (concurrency: 64, rate-api: 20/1s),
// so that one vocabulary serves the command line, the environment and the file; two sections
// hold what flags cannot, the named app profiles and robots:
//
//	apps:
//	  sales: {key: ..., secret: ..., kdocs-token: ...}  # DINGQ_APP_SALES_KEY, ..._SECRET, ..._KDOCS_TOKEN
//	robots:
//	  ops: {webhook: ..., secret: ...}                 # DINGQ_ROBOT_OPS_WEBHOOK, ..._SECRET
//
// A key may be any setting of `dingq serve`, whichever command reads the file, so that one file
// serves every command; a command sets the flags it has and checks the others. The command's own
// flags (those of `dingq sandbox`, say) are keys too. An empty value counts as unset, as an empty
// variable does. Unknown keys, duplicate keys and unusable values are errors that name the file,
// line and key, and never show a value that may be secret.

const (
	fileFlagName  = "config"
	fileFlagUsage = "a YAML `file` of settings, keyed by these flags' names (nats-url: ...), with sections apps: and robots:; " +
		"flags and DINGQ_* variables win over it"
)

// fileFlag is the flag.Value of --config: the file's path and, when [Config.Register] defined
// it, the Config that receives what the file holds besides flags.
type fileFlag struct {
	path *string
	into *Config // nil when Parse defined the flag for a command without a Config
}

func (f fileFlag) String() string {
	if f.path == nil { // the zero value flag.PrintDefaults makes
		return ""
	}
	return *f.path
}

func (f fileFlag) Set(s string) error {
	*f.path = s
	return nil
}

// fileSettings is what the file holds besides flags, and where.
type fileSettings struct {
	apps   map[string]App
	robots map[string]Robot
	lines  map[string]int // the line of each flag the file set, and of each profile ("apps.sales")
}

// fileFlagOf returns the --config flag of fs, defining it if the command has none.
func fileFlagOf(fs *flag.FlagSet) fileFlag {
	if f := fs.Lookup(fileFlagName); f != nil {
		if ff, ok := f.Value.(fileFlag); ok {
			return ff
		}
		return fileFlag{path: new(string)} // a command's own --config: not ours to read
	}
	ff := fileFlag{path: new(string)}
	fs.Var(ff, fileFlagName, fileFlagUsage)
	return ff
}

// load sets every flag of fs that is not set yet from the file, if one is named, and keeps the
// rest of it for ReadProfiles.
func (f fileFlag) load(fs *flag.FlagSet) error {
	if f.path == nil || *f.path == "" {
		return nil
	}
	root, err := readYAML(*f.path)
	if err != nil || root == nil {
		return err
	}
	r := &fileReader{path: *f.path, fs: fs, settings: settingsFlags(), given: visited(fs),
		out: fileSettings{lines: map[string]int{}}}
	r.top(root)
	if f.into != nil {
		f.into.file = r.out
	}
	return errors.Join(r.errs...)
}

// readYAML returns the root node of the one document of path, or nil for a file with none.
func readYAML(path string) (*yaml.Node, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("config file %s: %v", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc, next yaml.Node
	if err := dec.Decode(&doc); err == io.EOF {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, fmt.Errorf("%s:%d: a second YAML document: a configuration file holds one", path, next.Line)
	case err != io.EOF:
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// settingsFlags is a flag set of every setting a file may hold, for checking the keys and values
// that the command reading the file has no flag for.
func settingsFlags() *flag.FlagSet {
	c := Default()
	fs := flag.NewFlagSet("settings", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.RegisterServe(fs)
	return fs
}

// fileReader walks the file's nodes, setting flags and collecting profiles and mistakes.
type fileReader struct {
	path     string
	fs       *flag.FlagSet   // the command's flags
	settings *flag.FlagSet   // every setting of `dingq serve`, to check what fs lacks
	given    map[string]bool // the flags the command line or the environment set
	out      fileSettings
	errs     []error
}

func (r *fileReader) bad(n *yaml.Node, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s:%d: %s", r.path, n.Line, fmt.Sprintf(format, args...)))
}

func (r *fileReader) top(root *yaml.Node) {
	r.mapping(root, "", "settings as key: value (concurrency: 64)", false, func(k, v *yaml.Node) {
		switch k.Value {
		case "apps":
			r.out.apps = readSection[App](r, v, "apps", appSettings)
		case "robots":
			r.out.robots = readSection[Robot](r, v, "robots", robotSettings)
		default:
			r.setting(k, v)
		}
	})
}

// isKey reports whether name is a top-level key.
func (r *fileReader) isKey(name string) bool {
	return name == "apps" || name == "robots" ||
		name != fileFlagName && (r.fs.Lookup(name) != nil || r.settings.Lookup(name) != nil)
}

// setting sets the flag k names to v, unless the command line or the environment set it; a key
// the command has no flag for is checked, and dropped.
func (r *fileReader) setting(k, v *yaml.Node) {
	name := k.Value
	if name == fileFlagName {
		r.bad(k, "config: a file cannot name another; use --config or DINGQ_CONFIG")
		return
	}
	own, shared := r.fs.Lookup(name), r.settings.Lookup(name)
	if own == nil && shared == nil {
		r.unknown(k, "", r.isKey, "keys are the flags of `dingq serve -h` without their dashes, and apps and robots")
		return
	}
	value, ok := r.scalar(v, name)
	if !ok || value == "" {
		return
	}
	set, f := r.fs, own
	if own == nil || r.given[name] {
		if shared == nil { // the command's own flag, set otherwise: nothing to check it with
			return
		}
		set, f = r.settings, shared
	} else {
		r.out.lines[name] = k.Line
	}
	// Only flags that are not strings refuse a value, and none of them is a secret.
	if err := set.Set(name, value); err != nil {
		r.bad(v, "%s: %q: %s", name, value, valueError(f, err))
	}
}

// The settings of a profile, as the environment spells them; the file's keys are their lower
// case with '-' for '_' (KDOCS_TOKEN is kdocs-token).
var (
	appSettings   = []string{"KEY", "SECRET", "KDOCS_TOKEN"}
	robotSettings = []string{"WEBHOOK", "SECRET"}
)

func fileKey(setting string) string {
	return strings.ToLower(strings.ReplaceAll(setting, "_", "-"))
}

// readSection reads the apps: or robots: section, a mapping of names to their settings. A name
// is letters, digits and underscores, so that the environment can set what the file leaves out;
// it is stored in lower case.
func readSection[P interface{ with(setting, v string) P }](r *fileReader, n *yaml.Node, section string, settings []string) map[string]P {
	keys := make([]string, len(settings))
	for i, s := range settings {
		keys[i] = fileKey(s)
	}
	want := "a mapping of " + strings.Join(keys, ", ")
	out := map[string]P{}
	r.mapping(n, section, "a mapping of names to their settings", true, func(k, v *yaml.Node) {
		name, where := strings.ToLower(k.Value), section+"."+k.Value
		if !validName(k.Value, "_") {
			r.bad(k, "%s: %q: want a name of letters, digits and underscores", section, k.Value)
			return
		}
		var p P
		r.mapping(v, where, want, false, func(sk, sv *yaml.Node) {
			setting := strings.ToUpper(strings.ReplaceAll(sk.Value, "-", "_"))
			if fileKey(setting) != sk.Value || !slices.Contains(settings, setting) {
				r.unknown(sk, where, func(s string) bool { return slices.Contains(keys, s) }, "want "+strings.Join(keys, ", "))
				return
			}
			if v, ok := r.scalar(sv, where+"."+sk.Value); ok && v != "" {
				p = p.with(setting, v)
			}
		})
		out[name] = p
		r.out.lines[section+"."+name] = k.Line
	})
	return nilIfEmpty(out)
}

// mapping calls each for every key and value of n, a mapping (null counts as an empty one),
// reporting keys that are not plain names and keys given twice (in any case, with fold).
func (r *fileReader) mapping(n *yaml.Node, where, want string, fold bool, each func(k, v *yaml.Node)) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		r.bad(n, "%swant %s, not %s", prefix(where), want, kindName(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			r.bad(k, "%swant a name as key, not %s", prefix(where), kindName(k))
			continue
		}
		id := k.Value
		if fold {
			id = strings.ToLower(id)
		}
		if first, ok := seen[id]; ok {
			r.bad(k, "%sduplicate key %q (first at line %d)", prefix(where), k.Value, first)
			continue
		}
		seen[id] = k.Line
		each(k, v)
	}
}

// prefix is where, to begin a message about it; nothing for the top level.
func prefix(where string) string {
	if where == "" {
		return ""
	}
	return where + ": "
}

// unknown reports a key that is not known, suggesting the key it resembles in another spelling
// (NATS_URL or DINGQ_NATS_URL for nats-url).
func (r *fileReader) unknown(k *yaml.Node, where string, known func(string) bool, hint string) {
	msg := fmt.Sprintf("%sunknown key %q", prefix(where), k.Value)
	if s := strings.ReplaceAll(strings.TrimPrefix(strings.ToLower(k.Value), "dingq_"), "_", "-"); s != k.Value && known(s) {
		msg += fmt.Sprintf(": did you mean %q?", s)
	} else if hint != "" {
		msg += ": " + hint
	}
	r.bad(k, "%s", msg)
}

// scalar returns the text of n, a single value ("" for null), or reports a list or mapping
// without showing it.
func (r *fileReader) scalar(n *yaml.Node, where string) (string, bool) {
	n = deref(n)
	switch {
	case isNull(n):
		return "", true
	case n.Kind != yaml.ScalarNode:
		r.bad(n, "%s: want a single value, not %s", where, kindName(n))
		return "", false
	}
	return n.Value, true
}

// deref follows an alias (*anchor) to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	}
	return "this"
}
