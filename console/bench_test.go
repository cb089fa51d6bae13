package console_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/console"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/embedded"
	"github.com/dingq/dingq/worker/workertest"
)

// benchLetters is how many dead letters the benchmarks' console browses.
const benchLetters = 100_000

// bench is the benchmarks' console over benchLetters dead letters, made once per process and
// closed by TestMain after the last benchmark.
var bench struct {
	once    sync.Once
	err     error
	dir     string
	srv     *embedded.Server
	nc      *nats.Conn
	console *console.Console
	http    *httptest.Server
}

func benchConsole(b *testing.B) string {
	b.Helper()
	bench.once.Do(func() { bench.err = fillBench() })
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.http.URL
}

func fillBench() error {
	dir, err := os.MkdirTemp("", "dingq-console-bench-")
	if err != nil {
		return err
	}
	bench.dir = dir
	if bench.srv, err = embedded.Start(embedded.Config{Listen: "127.0.0.1:0", StoreDir: dir}); err != nil {
		return err
	}
	if bench.nc, err = nats.Connect(bench.srv.ClientURL()); err != nil {
		return err
	}
	js, err := jetstream.New(bench.nc)
	if err != nil {
		return err
	}
	ctx := context.Background()
	if _, err := worker.Provision(ctx, js, worker.Config{Names: names, Apps: []string{"ops"}}); err != nil {
		return err
	}
	if err := workertest.FillDeadLetters(ctx, bench.nc, names, benchLetters); err != nil {
		return err
	}
	if bench.console, err = console.New(ctx, console.Config{JS: js, Names: names, Apps: []string{"ops"}, Logger: zerolog.Nop()}); err != nil {
		return err
	}
	bench.http = httptest.NewServer(bench.console)
	return nil
}

func closeBench() {
	if bench.http != nil {
		bench.http.Close()
	}
	if bench.console != nil {
		bench.console.Close()
	}
	if bench.nc != nil {
		bench.nc.Close()
	}
	if bench.srv != nil {
		bench.srv.Shutdown()
	}
	if bench.dir != "" {
		_ = os.RemoveAll(bench.dir)
	}
}

// BenchmarkDeadLetterPage renders pages of the dead-letter list over benchLetters letters, as
// a browser asks for them: the whole HTTP request, the page read from JetStream and rendered.
func BenchmarkDeadLetterPage(b *testing.B) {
	base := benchConsole(b)
	for _, c := range []struct{ name, path string }{
		{"newest", "/letters"},
		{"middle", fmt.Sprintf("/letters?before=%d", benchLetters/2)},
		{"kind=robot", "/letters?kind=robot"},
		{"reason=invalid", "/letters?reason=invalid"},
		{"since=1h", "/letters?since=1h"},
		{"letter", fmt.Sprintf("/letters/%d", benchLetters/2)},
	} {
		b.Run(c.name, func(b *testing.B) {
			var body string
			for b.Loop() {
				resp, err := http.Get(base + c.path)
				if err != nil {
					b.Fatal(err)
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("%s: %d", c.path, resp.StatusCode)
				}
				body = string(data)
			}
			if c.name != "letter" && strings.Count(body, `<tr id="letter-`) != 50 {
				b.Fatalf("%s: %d rows, want 50", c.path, strings.Count(body, `<tr id="letter-`))
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
		})
	}
}

// BenchmarkOverview renders the overview over benchLetters dead letters; the dead letters'
// tally is counted again every 15 s, which the first request of a run pays.
func BenchmarkOverview(b *testing.B) {
	base := benchConsole(b)
	start := time.Now()
	for b.Loop() {
		resp, err := http.Get(base + "/")
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/page")
}
