package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A console anyone on the network could reach does not start without a token, and says what to
// set; its own settings come from DINGQ_CONSOLE_* variables.
func TestConsoleOffLoopbackRefusesToStartWithoutAToken(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"console", "--listen", "0.0.0.0:0"}, nil},
		{[]string{"console"}, map[string]string{"DINGQ_CONSOLE_LISTEN": "0.0.0.0:0"}},
	} {
		code, out := cli(c.env, "", c.args...)
		if code != 2 || !strings.Contains(out, "DINGQ_CONSOLE_TOKEN") || !strings.Contains(out, "0.0.0.0:0") {
			t.Errorf("%v %v: exit %d: %s", c.args, c.env, code, out)
		}
	}
}

// `dingq serve --console` serves the console beside the worker, and `dingq console` alone does
// the same over a running worker's NATS.
func TestServeAndConsoleServeTheConsole(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	env["DINGQ_CONSOLE"] = freeAddr(t)
	h.start(env)
	waitFor(t, 15*time.Second, "the console of serve", func() bool {
		return strings.Contains(httpBody(t, "http://"+env["DINGQ_CONSOLE"]+"/"), "ready")
	}, h.out)

	env["DINGQ_CONSOLE_LISTEN"] = freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"console"}, stdio{in: strings.NewReader(""), out: io.Discard, err: h.out, getenv: mapEnv(env)})
	}()
	waitFor(t, 15*time.Second, "dingq console", func() bool {
		return strings.Contains(httpBody(t, "http://"+env["DINGQ_CONSOLE_LISTEN"]+"/letters"), "No dead letters match")
	}, h.out)
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("dingq console exit %d:\n%s", code, h.out)
	}
}

// httpBody is the body of a GET of url, or "" when it fails.
func httpBody(t *testing.T, url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
