package main

import (
	"runtime"
	"strings"
	"testing"
)

func TestVersionPrintsTheBuild(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out := cli(map[string]string{}, "", args...)
		if code != 0 || !strings.HasPrefix(out, "dingq ") || !strings.Contains(out, "(commit ") || !strings.Contains(out, runtime.Version()) {
			t.Errorf("%v: exit %d: %q", args, code, out)
		}
	}
	if code, out := cli(map[string]string{}, "", "version", "extra"); code != 2 {
		t.Errorf("version with an argument: exit %d: %q", code, out)
	}
}
