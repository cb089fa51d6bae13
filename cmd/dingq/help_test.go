package main

import (
	"strings"
	"testing"
)

// Every command's -h says what it does in a line, shows an example, and exits 0.
func TestEveryCommandsHelpHasAPurposeAndAnExample(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "-h"}, {"sandbox", "-h"}, {"send", "-h"}, {"status", "-h"}, {"console", "-h"},
		{"dlq", "list", "-h"}, {"dlq", "show", "-h"}, {"dlq", "replay", "-h"}, {"dlq", "purge", "-h"},
	} {
		code, out := cli(map[string]string{}, "", args...)
		lines := strings.Split(out, "\n")
		if code != 0 || len(lines) < 3 || !strings.HasPrefix(lines[0], "Usage: dingq ") || lines[1] != "" || lines[2] == "" ||
			!strings.Contains(out, "\nExample") || !strings.Contains(out, "\n  dingq "+args[0]) {
			t.Errorf("%v: exit %d:\n%s", args, code, out)
		}
	}
}
