package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
)

// ceilingCommand is the hidden subcommand that runs the ceiling.
const ceilingCommand = "ceiling"

// ceilingConfig is the ceiling's command line.
type ceilingConfig struct {
	natsURL, sandboxURL  string
	appKey, appSecret    string
	kdocsToken, httpAddr string
	concurrency          int
	confirm              bool // DoubleAck, as dingq acks
}

// ceilingMain is the bare loop dingq is measured against: the fastest simple program that does a
// worker's work on the same NATS and sandbox. It fetches one app token, pulls from the same
// durable consumers as dingq in batches of twice the concurrency into a buffered hand-off, and
// per job makes one HTTP POST to the kind's endpoint, reads and discards the answer and acks,
// whatever the answer was: no validation, no retries, no sent-record, no logging. It serves /debug/vars and /debug/pprof on -http-addr once it consumes,
// and stops at SIGTERM or SIGINT.
func ceilingMain(args []string) int {
	var c ceilingConfig
	fs := flag.NewFlagSet("dingq-bench ceiling", flag.ContinueOnError)
	fs.StringVar(&c.natsURL, "nats-url", "", "NATS server URL")
	fs.StringVar(&c.sandboxURL, "sandbox-url", "", "sandbox base URL")
	fs.StringVar(&c.appKey, "app-key", "bench-key", "app key for the token")
	fs.StringVar(&c.appSecret, "app-secret", "bench-secret", "app secret for the token")
	fs.StringVar(&c.kdocsToken, "kdocs-token", "bench-kdocs", "kdocs relay token")
	fs.StringVar(&c.httpAddr, "http-addr", "127.0.0.1:0", "where to serve /debug/vars and /debug/pprof")
	fs.IntVar(&c.concurrency, "concurrency", 64, "sends in flight")
	fs.BoolVar(&c.confirm, "confirm", false, "confirm each ack (DoubleAck), as dingq does")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runCeiling(ctx, c); err != nil {
		fmt.Fprintf(os.Stderr, "dingq-bench ceiling: %v\n", err)
		return 1
	}
	return 0
}

func runCeiling(ctx context.Context, c ceilingConfig) error {
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: c.concurrency, IdleConnTimeout: 90 * time.Second, DisableCompression: true},
	}
	tok, err := fetchAppToken(ctx, client, c)
	if err != nil {
		return err
	}
	q := "?access_token="
	plain := http.Header{"Content-Type": {"application/json"}}
	withToken := http.Header{"Content-Type": {"application/json"}, "X-Acs-Dingtalk-Access-Token": {tok}}
	targets := map[string]target{}
	for kind, t := range map[schema.Kind]struct {
		raw    string
		header http.Header
	}{
		schema.KindCard:        {c.sandboxURL + dispatcher.CardPath, withToken},
		schema.KindCrossDomain: {c.sandboxURL + dispatcher.CrossDomainPath + q + url.QueryEscape(tok), plain},
		schema.KindRobot:       {c.sandboxURL + dispatcher.RobotPath + q + url.QueryEscape(c.kdocsToken), plain},
	} {
		u, err := url.Parse(t.raw)
		if err != nil {
			return err
		}
		targets[string(kind)] = target{u, t.header}
	}

	nc, err := nats.Connect(c.natsURL, nats.Name("dingq-bench ceiling"))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	names := schema.NewNames(schema.DefaultPrefix)

	// Pulls of twice the concurrency fill a buffered hand-off: a goroutine that finishes a job
	// finds the next one waiting.
	jobs := make(chan jetstream.Msg, 2*c.concurrency)
	stopping := make(chan struct{})
	var wg sync.WaitGroup
	for range c.concurrency {
		wg.Go(func() {
			for {
				select {
				case <-stopping:
					return
				case m := <-jobs:
					post(client.Transport, targets, m)
					if c.confirm {
						ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
						_ = m.DoubleAck(ctx)
						cancel()
					} else {
						_ = m.Ack()
					}
				}
			}
		})
	}
	// One consume per kind's consumer, as a worker pulls.
	var ccs []jetstream.ConsumeContext
	defer func() {
		for _, cc := range ccs {
			cc.Stop()
		}
	}()
	for _, k := range schema.Kinds() {
		cons, err := js.Consumer(ctx, names.JobStream(), names.ConsumerFor(k))
		if err != nil {
			return err
		}
		cc, err := cons.Consume(func(m jetstream.Msg) {
			select {
			case jobs <- m:
			case <-stopping:
				_ = m.Nak()
			}
		}, jetstream.PullMaxMessages(2*c.concurrency),
			// dingq's expiry and heartbeat: the heartbeat ends a stall of nats.go's consume.
			jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(500*time.Millisecond))
		if err != nil {
			return err
		}
		ccs = append(ccs, cc)
	}
	stopHTTP, err := serveDebug(c.httpAddr)
	if err != nil {
		return err
	}
	defer stopHTTP()

	<-ctx.Done()
	for _, cc := range ccs {
		cc.Stop()
	}
	ccs = nil
	close(stopping)
	wg.Wait()
	return nc.Drain()
}

// target is where a kind's jobs go: its URL and headers, built once.
type target struct {
	url    *url.URL
	header http.Header
}

// post sends one job to its kind's endpoint and discards the answer. It calls the transport with
// the kind's prebuilt URL and header map, as dingq does: no timeout, redirects or per-request
// parsing.
func post(rt http.RoundTripper, targets map[string]target, m jetstream.Msg) {
	subject := m.Subject()
	kind := subject[strings.LastIndexByte(subject, '.')+1:]
	body := m.Data()
	if kind == string(schema.KindCrossDomain) {
		body = append(append([]byte(`{"crossdomain_message_send_model":`), body...), '}')
	}
	t := targets[kind]
	resp, err := rt.RoundTrip(&http.Request{Method: http.MethodPost, URL: t.url, Header: t.header,
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))})
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}

// fetchAppToken gets the app token once; the sandbox issues the same token to both token APIs.
func fetchAppToken(ctx context.Context, client *http.Client, c ceilingConfig) (string, error) {
	body, _ := json.Marshal(map[string]string{"appKey": c.appKey, "appSecret": c.appSecret})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.sandboxURL+"/v1.0/oauth2/accessToken", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("fetch token: %w", err)
	}
	defer resp.Body.Close()
	var v struct{ AccessToken string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.AccessToken == "" {
		return "", fmt.Errorf("fetch token: HTTP %d, %v", resp.StatusCode, err)
	}
	return v.AccessToken, nil
}

// serveDebug serves Go's /debug/vars (memstats) and /debug/pprof on addr, as dingq does with
// DINGQ_DEBUG_ENDPOINTS, so the harness measures both sides the same way.
func serveDebug(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/vars", expvar.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "dingq-bench ceiling: debug server: %v\n", err)
		}
	}()
	return func() { _ = srv.Close() }, nil
}
