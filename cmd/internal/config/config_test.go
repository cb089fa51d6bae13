package config_test

import (
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/dispatcher/ratelimit"
)

func parse(t *testing.T, args []string, env map[string]string) (config.Config, error) {
	t.Helper()
	cfg := config.Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.RegisterServe(fs)
	_, err := config.Parse(fs, args, func(k string) string { return env[k] })
	return cfg, err
}

func TestDefaultsMatchTheContract(t *testing.T) {
	cfg, err := parse(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	want := config.Config{
		NATSListen: "127.0.0.1:4222", DataDir: "./data", SubjectPrefix: "dingq",
		APIURL: "https://api.dingtalk.com", OAPIURL: "https://oapi.dingtalk.com", KdocsURL: "https://developer.kdocs.cn",
		Concurrency: 64, MaxAttempts: 8, BackoffInitial: time.Second, BackoffMax: 5 * time.Minute,
		AckWait: 30 * time.Second, HTTPTimeout: 10 * time.Second, ShutdownTimeout: 25 * time.Second,
		DuplicateWindow: 10 * time.Minute, SentTTL: 24 * time.Hour, Replicas: 1,
		JobsMaxBytes: 1 << 30, DeadMaxBytes: 1 << 30,
		HTTPAddr: "127.0.0.1:9090", LogLevel: "info", LogFormat: "json",
		RateAPI: ratelimit.Rate{N: 20, Per: time.Second}, RateRobot: ratelimit.Rate{N: 20, Per: time.Minute},
		RobotPenalty: 10 * time.Minute, RobotVia: "auto", Status: "on",
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults = %+v\nwant %+v", cfg, want)
	}
}

func TestEnvironmentThenFlagsOverride(t *testing.T) {
	env := map[string]string{
		"DINGQ_NATS_URL":            "nats://a:4222,nats://b:4222",
		"DINGQ_CONCURRENCY":         "16",
		"DINGQ_BACKOFF_INITIAL":     "250ms",
		"DINGQ_SANDBOX":             "true",
		"DINGQ_DINGTALK_APP_KEY":    "key",
		"DINGQ_DINGTALK_APP_SECRET": "secret",
	}
	cfg, err := parse(t, []string{"--concurrency", "4"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NATSURL != env["DINGQ_NATS_URL"] || cfg.Concurrency != 4 || cfg.BackoffInitial != 250*time.Millisecond ||
		!cfg.Sandbox || cfg.AppKey != "key" || cfg.AppSecret != "secret" {
		t.Errorf("cfg = %+v", cfg)
	}
	if got := cfg.NATSServers(); got != env["DINGQ_NATS_URL"] {
		t.Errorf("NATSServers = %q", got)
	}
}

func TestBadEnvironmentValueNamesTheVariable(t *testing.T) {
	_, err := parse(t, nil, map[string]string{"DINGQ_CONCURRENCY": "lots", "DINGQ_BACKOFF_MAX": "5 minutes"})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"DINGQ_CONCURRENCY", "DINGQ_BACKOFF_MAX"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestValidateNamesEachMistake(t *testing.T) {
	cases := map[string]map[string]string{
		"DINGQ_NATS_URL":            {"DINGQ_NATS_URL": "::nonsense"},
		"DINGQ_NATS_LISTEN":         {"DINGQ_NATS_LISTEN": "4222"},
		"DINGQ_SUBJECT_PREFIX":      {"DINGQ_SUBJECT_PREFIX": "a..b"},
		"DINGQ_DINGTALK_API_URL":    {"DINGQ_DINGTALK_API_URL": "ftp://x"},
		"DINGQ_KDOCS_API_URL":       {"DINGQ_KDOCS_API_URL": "developer.kdocs.cn"},
		"DINGQ_DINGTALK_APP_SECRET": {"DINGQ_DINGTALK_APP_KEY": "only-key"},
		"DINGQ_CONCURRENCY":         {"DINGQ_CONCURRENCY": "0"},
		"DINGQ_MAX_ATTEMPTS":        {"DINGQ_MAX_ATTEMPTS": "-1"},
		"DINGQ_BACKOFF_MAX":         {"DINGQ_BACKOFF_INITIAL": "10s", "DINGQ_BACKOFF_MAX": "1s"},
		"DINGQ_ACK_WAIT":            {"DINGQ_ACK_WAIT": "10ms"},
		"DINGQ_LOG_LEVEL":           {"DINGQ_LOG_LEVEL": "loud"},
		"DINGQ_LOG_FORMAT":          {"DINGQ_LOG_FORMAT": "xml"},
		"DINGQ_HTTP_ADDR":           {"DINGQ_HTTP_ADDR": "9090"},
		"DINGQ_DUPLICATE_WINDOW":    {"DINGQ_DUPLICATE_WINDOW": "500ms"},
		"DINGQ_SENT_TTL":            {"DINGQ_SENT_TTL": "30s"},
	}
	for name, env := range cases {
		t.Run(name, func(t *testing.T) {
			cfg, err := parse(t, nil, env)
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("Validate() = %v, want an error naming %s", err, name)
			}
		})
	}
}

func TestValidateNeverEchoesCredentialsInURLs(t *testing.T) {
	cfg, _ := parse(t, nil, map[string]string{"DINGQ_DINGTALK_API_URL": "ftp://u:hunter2@x/?access_token=tok-secret"})
	err := cfg.Validate()
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "tok-secret") {
		t.Errorf("Validate() = %v", err)
	}
}

func TestFlagsMayFollowPositionalArguments(t *testing.T) {
	cfg := config.Default()
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	cfg.Register(fs)
	id := fs.String("id", "", "")
	pos, err := config.Parse(fs, []string{"card", "job.json", "--id", "x1", "--subject-prefix", "qa"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(pos, " ") != "card job.json" || *id != "x1" || cfg.SubjectPrefix != "qa" {
		t.Errorf("positional %v, id %q, prefix %q", pos, *id, cfg.SubjectPrefix)
	}
}

func TestDurationsReachTheWorker(t *testing.T) {
	cfg, err := parse(t, []string{"--sent-ttl", "2h"}, map[string]string{"DINGQ_DUPLICATE_WINDOW": "3m"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	w := cfg.Worker()
	if w.DuplicateWindow != 3*time.Minute || w.SentTTL != 2*time.Hour {
		t.Errorf("worker DuplicateWindow %v, SentTTL %v; want 3m, 2h", w.DuplicateWindow, w.SentTTL)
	}
}
