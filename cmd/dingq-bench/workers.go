package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

// The two sides of every comparison.
const (
	sideDingq   = "dingq"
	sideCeiling = "ceiling"
)

// workerProc is one worker process of a run, dingq or ceiling, with its debug HTTP address.
type workerProc struct {
	*proc
	httpAddr string
}

// workerSpec is what a run asks of its worker processes.
type workerSpec struct {
	side        string
	concurrency int
	logLevel    string // dingq's DINGQ_LOG_LEVEL; default "info", dingq's own default
	confirm     bool   // the ceiling confirms each ack (DoubleAck), as dingq does
	rateAPI     string // dingq's DINGQ_RATE_API; default "off" (the rate limits are their own scenarios)
	status      string // dingq's DINGQ_STATUS; default "on", dingq's own default
	rateRobot   string // dingq's DINGQ_RATE_ROBOT; default "off"
	robotVia    string // dingq's DINGQ_ROBOT_VIA; default "auto", dingq's own default
}

// probe is the client the harness asks workers' HTTP endpoints with.
var probe = &http.Client{Timeout: 5 * time.Second}

// startWorker starts one worker process against the sandbox at sandboxURL and waits until it
// serves its HTTP endpoints.
func (l *lab) startWorker(ctx context.Context, ws workerSpec, sandboxURL string, i int) (*workerProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%s-%d", ws.side, i)
	var p *proc
	switch ws.side {
	case sideDingq:
		level := cmp.Or(ws.logLevel, "info")
		env := []string{
			"DINGQ_NATS_URL=" + l.natsURL,
			"DINGQ_DINGTALK_API_URL=" + sandboxURL,
			"DINGQ_DINGTALK_OAPI_URL=" + sandboxURL,
			"DINGQ_KDOCS_API_URL=" + sandboxURL,
			"DINGQ_DINGTALK_APP_KEY=bench-key",
			"DINGQ_DINGTALK_APP_SECRET=bench-secret",
			"DINGQ_KDOCS_ACCESS_TOKEN=bench-kdocs",
			"DINGQ_CONCURRENCY=" + strconv.Itoa(ws.concurrency),
			"DINGQ_LOG_LEVEL=" + level,
			"DINGQ_BACKOFF_INITIAL=50ms",
			"DINGQ_HTTP_ADDR=" + addr,
			"DINGQ_DEBUG_ENDPOINTS=true",
			"DINGQ_RATE_API=" + cmp.Or(ws.rateAPI, "off"),
			"DINGQ_RATE_ROBOT=" + cmp.Or(ws.rateRobot, "off"),
			"DINGQ_ROBOT_VIA=" + cmp.Or(ws.robotVia, "auto"),
			"DINGQ_STATUS=" + cmp.Or(ws.status, "on"),
		}
		p, err = l.procs.start(name, l.dingqBin, []string{"serve"}, env, l.logPath(name))
	case sideCeiling:
		args := []string{ceilingCommand, "-nats-url", l.natsURL, "-sandbox-url", sandboxURL,
			"-http-addr", addr, "-concurrency", strconv.Itoa(ws.concurrency), "-confirm=" + strconv.FormatBool(ws.confirm)}
		p, err = l.procs.start(name, l.selfBin, args, nil, l.logPath(name))
	default:
		return nil, fmt.Errorf("unknown side %q", ws.side)
	}
	if err != nil {
		return nil, err
	}
	w := &workerProc{proc: p, httpAddr: addr}
	// dingq answers /readyz once it runs the worker; the ceiling serves HTTP once it consumes.
	path := "/readyz"
	if ws.side == sideCeiling {
		path = "/debug/vars"
	}
	if err := w.waitHTTP(ctx, path, 30*time.Second); err != nil {
		return nil, err
	}
	return w, nil
}

// waitHTTP polls path until it answers 200.
func (w *workerProc) waitHTTP(ctx context.Context, path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := probe.Get("http://" + w.httpAddr + path)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if w.exited() {
			return fmt.Errorf("%s exited at start\n%s", w.name, w.logTail(20))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s not ready within %v\n%s", w.name, path, timeout, w.logTail(20))
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

// mallocs reads the process's cumulative heap allocation count from /debug/vars (memstats).
func (w *workerProc) mallocs() (uint64, error) {
	resp, err := probe.Get("http://" + w.httpAddr + "/debug/vars")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var v struct {
		Memstats struct{ Mallocs uint64 } `json:"memstats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return 0, fmt.Errorf("%s: /debug/vars: %w", w.name, err)
	}
	return v.Memstats.Mallocs, nil
}

// saveProfile saves a CPU profile of seconds to path, from /debug/pprof/profile.
func (w *workerProc) saveProfile(path string, seconds int) error {
	client := &http.Client{Timeout: time.Duration(seconds+30) * time.Second}
	resp, err := client.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", w.httpAddr, seconds))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: HTTP %d", resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
