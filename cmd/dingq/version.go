package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

// versionCmd prints dingq's version, the commit it was built from and the Go version, from the
// binary's build information: `go install` records the module version, a build in a checkout the
// VCS revision and whether the tree was modified.
func versionCmd(_ context.Context, args []string, std stdio) error {
	fs := newFlagSet("version", std.err)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: dingq version\n\nPrint dingq's version, commit and Go version.\n")
	}
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	fmt.Fprintln(std.out, versionLine())
	return nil
}

// versionLine is "dingq <version> (commit <rev>[, modified]) <go version>".
func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dingq (no build information)"
	}
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	rev, modified := "unknown", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
			if len(rev) > 12 {
				rev = rev[:12]
			}
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	line := fmt.Sprintf("dingq %s (commit %s", version, rev)
	if modified {
		line += ", modified"
	}
	return line + ") " + bi.GoVersion
}
