package config_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dingq/dingq/cmd/internal/config"
)

// writeFile writes content to a dingq.yaml of its own and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dingq.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serveLoad does what `dingq serve` does before it validates: flags (with --demo, a flag of the
// command alone), the environment, the file that --config or DINGQ_CONFIG names, the profiles.
func serveLoad(t *testing.T, args []string, env map[string]string) (config.Config, *flag.FlagSet, error) {
	t.Helper()
	cfg := config.Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.RegisterServe(fs)
	fs.Bool("demo", false, "")
	if _, err := config.Parse(fs, args, func(k string) string { return env[k] }); err != nil {
		return cfg, fs, err
	}
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	return cfg, fs, cfg.ReadProfiles(fs, environ)
}

func TestFileFlagsEnvironmentPrecedence(t *testing.T) {
	const file = `
concurrency: 32
ack-wait: 45s
rate-api: 5/1s
log-level: debug
sandbox: true
demo: true
nats-url: nats://file:4222
`
	cases := []struct {
		name string
		flag string // the setting looked at
		env  map[string]string
		args []string
		want string
	}{
		{"file over default", "concurrency", nil, nil, "32"},
		{"file over default: duration", "ack-wait", nil, nil, "45s"},
		{"file over default: rate", "rate-api", nil, nil, "5/1s"},
		{"file over default: bool", "sandbox", nil, nil, "true"},
		{"file sets the command's own flags", "demo", nil, nil, "true"},
		{"default where the file is silent", "max-attempts", nil, nil, "8"},
		{"environment over file", "concurrency", map[string]string{"DINGQ_CONCURRENCY": "16"}, nil, "16"},
		{"environment over file: url", "nats-url", map[string]string{"DINGQ_NATS_URL": "nats://env:4222"}, nil, "nats://env:4222"},
		{"empty variable is unset", "log-level", map[string]string{"DINGQ_LOG_LEVEL": ""}, nil, "debug"},
		{"flag over file", "ack-wait", nil, []string{"--ack-wait", "1m"}, "1m0s"},
		{"flag over environment over file", "concurrency", map[string]string{"DINGQ_CONCURRENCY": "16"}, []string{"--concurrency=4"}, "4"},
		{"flag over file: bool", "sandbox", nil, []string{"--sandbox=false"}, "false"},
		{"flag over environment over file: rate", "rate-api", map[string]string{"DINGQ_RATE_API": "7/1s"}, []string{"--rate-api", "off"}, "off"},
	}
	path := writeFile(t, file)
	for _, viaEnv := range []bool{false, true} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/DINGQ_CONFIG=%v", c.name, viaEnv), func(t *testing.T) {
				env := map[string]string{}
				for k, v := range c.env {
					env[k] = v
				}
				args := c.args
				if viaEnv {
					env["DINGQ_CONFIG"] = path
				} else {
					args = append([]string{"--config", path}, args...)
				}
				cfg, fs, err := serveLoad(t, args, env)
				if err != nil {
					t.Fatal(err)
				}
				if got := fs.Lookup(c.flag).Value.String(); got != c.want {
					t.Errorf("%s = %q, want %q", c.flag, got, c.want)
				}
				if cfg.File != path {
					t.Errorf("File = %q, want %q", cfg.File, path)
				}
			})
		}
	}
}

// TestServeWithConfigFile reads a file as `dingq serve --config` does, through to the worker's
// settings and the profiles.
func TestServeWithConfigFile(t *testing.T) {
	path := writeFile(t, `
subject-prefix: staging
max-attempts: 3
sent-ttl: 2h
rate-robot: 10/1m
robot-via: direct
apps:
  sales: {key: sales-key}
robots:
  ops:
    webhook: `+webhook+`
`)
	cfg, _, err := serveLoad(t, []string{"--config", path}, map[string]string{"DINGQ_APP_SALES_SECRET": "appsecret-91fe"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	w := cfg.Worker()
	if w.MaxAttempts != 3 || w.SentTTL.String() != "2h0m0s" || cfg.SubjectPrefix != "staging" ||
		cfg.RateRobot.String() != "10/1m" || cfg.RobotPath() != config.RobotViaDirect {
		t.Errorf("cfg = %+v", cfg)
	}
	if a, ok := cfg.App("Sales"); !ok || a != (config.App{AppKey: "sales-key", AppSecret: "appsecret-91fe"}) {
		t.Errorf("App(Sales) = %v, %v", a, ok)
	}
	if r, ok := cfg.Robot("ops"); !ok || r.Webhook != webhook {
		t.Errorf("Robot(ops) = %v, %v", r, ok)
	}
}

func TestFileProfilesMergeWithTheEnvironment(t *testing.T) {
	cases := []struct {
		name       string
		file       string
		env        map[string]string
		wantApps   map[string]config.App
		wantRobots map[string]config.Robot
	}{
		{"file only", `
apps:
  Sales: {key: fk, secret: fs, kdocs-token: ft}
robots:
  OPS: {webhook: "` + webhook + `", secret: robot-sec-48c1}
`, nil,
			map[string]config.App{"sales": {AppKey: "fk", AppSecret: "fs", KdocsToken: "ft"}},
			map[string]config.Robot{"ops": {Webhook: webhook, Secret: "robot-sec-48c1"}}},
		{"environment wins field by field", `
apps:
  sales: {key: fk, secret: fs, kdocs-token: ft}
robots:
  ops: {webhook: "` + webhook + `", secret: file-secret}
`, map[string]string{"DINGQ_APP_SALES_SECRET": "es", "DINGQ_ROBOT_OPS_SECRET": "robot-sec-48c1", "DINGQ_APP_SALES_KEY": ""},
			map[string]config.App{"sales": {AppKey: "fk", AppSecret: "es", KdocsToken: "ft"}},
			map[string]config.Robot{"ops": {Webhook: webhook, Secret: "robot-sec-48c1"}}},
		{"file declares, environment fills", `
apps:
  sales:
    key:
    secret: ""
robots:
  ops:
`, map[string]string{"DINGQ_APP_SALES_KEY": "ek", "DINGQ_APP_Sales_SECRET": "es", "DINGQ_ROBOT_OPS_WEBHOOK": webhookOther},
			map[string]config.App{"sales": {AppKey: "ek", AppSecret: "es"}},
			map[string]config.Robot{"ops": {Webhook: webhookOther}}},
		{"both sides add profiles", `
apps: {sales: {kdocs-token: ft}}
robots: {ops: {webhook: "` + webhook + `"}}
`, map[string]string{"DINGQ_APP_SUPPORT_KDOCS_TOKEN": "et", "DINGQ_ROBOT_BUILD_WEBHOOK": webhookOther},
			map[string]config.App{"sales": {KdocsToken: "ft"}, "support": {KdocsToken: "et"}},
			map[string]config.Robot{"ops": {Webhook: webhook}, "build": {Webhook: webhookOther}}},
		{"empty sections", "apps:\nrobots: {}\n", nil, nil, nil},
		{"anchors and aliases", `
robots:
  ops: &robot {webhook: "` + webhook + `"}
  ops2: *robot
`, nil, nil,
			map[string]config.Robot{"ops": {Webhook: webhook}, "ops2": {Webhook: webhook}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, _, err := serveLoad(t, []string{"--config", writeFile(t, c.file)}, c.env)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Apps, c.wantApps) {
				t.Errorf("Apps = %#v\nwant %#v", plainApps(cfg.Apps), plainApps(c.wantApps))
			}
			if !reflect.DeepEqual(cfg.Robots, c.wantRobots) {
				t.Errorf("Robots = %v\nwant %v", cfg.Robots, c.wantRobots)
			}
		})
	}
}

// plainApps shows apps' values, which App's own printing hides; the test's values are not secret.
func plainApps(apps map[string]config.App) map[string][3]string {
	out := map[string][3]string{}
	for k, a := range apps {
		out[k] = [3]string{a.AppKey, a.AppSecret, a.KdocsToken}
	}
	return out
}

func TestFileMistakesNameFileLineAndKey(t *testing.T) {
	cases := []struct {
		name string
		file string
		env  map[string]string
		want []string // "@N" stands for "<path>:N:"
	}{
		{"unknown key", "concurrency: 8\nconcurency: 8\n", nil, []string{"@2", `unknown key "concurency"`}},
		{"a variable's spelling", "\nDINGQ_NATS_URL: nats://a:4222\n", nil, []string{"@2", `did you mean "nats-url"?`}},
		{"a flag's dashes", "--concurrency: 8\n", nil, []string{"@1", `unknown key "--concurrency"`}},
		{"not an integer", "log-level: info\nconcurrency: lots\n", nil, []string{"@2", "concurrency", "want a whole number"}},
		{"not a duration", "ack-wait: 30\n", nil, []string{"@1", "ack-wait", "want a duration"}},
		{"not a bool", "sandbox: yes\n", nil, []string{"@1", "sandbox", "want true or false"}},
		{"not a rate", "rate-api: fast\n", nil, []string{"@1", "rate-api", "N/duration"}},
		{"a command's own flag", "demo: maybe\n", nil, []string{"@1", "demo", "want true or false"}},
		{"bad even where the environment wins", "concurrency: lots\n", map[string]string{"DINGQ_CONCURRENCY": "8"},
			[]string{"@1", "concurrency", "want a whole number"}},
		{"a list for a value", "nats-url:\n  - nats://a:4222\n", nil, []string{"@2", "nats-url: want a single value, not a list"}},
		{"a mapping for a value", "log-level: {x: y}\n", nil, []string{"@1", "log-level: want a single value, not a mapping"}},
		{"duplicate key", "concurrency: 8\nlog-level: info\nconcurrency: 9\n", nil,
			[]string{"@3", `duplicate key "concurrency"`, "first at line 1"}},
		{"duplicate profile setting", "apps:\n  sales:\n    key: a\n    key: b\n", nil, []string{"@4", `apps.sales: duplicate key "key"`}},
		{"duplicate profile in another case", "robots:\n  ops: {}\n  Ops: {}\n", nil, []string{"@3", `robots: duplicate key "Ops"`}},
		{"unknown app setting", "apps:\n  sales:\n    secrte: x\n", nil, []string{"@3", `apps.sales: unknown key "secrte"`, "want key, secret, kdocs-token"}},
		{"app setting in a variable's spelling", "apps:\n  sales:\n    KDOCS_TOKEN: x\n", nil, []string{"@3", `did you mean "kdocs-token"?`}},
		{"unknown robot setting", "robots:\n  ops:\n    url: x\n", nil, []string{"@3", `robots.ops: unknown key "url"`, "want webhook, secret"}},
		{"apps as a list", "apps:\n  - sales\n", nil, []string{"@2", "apps: want a mapping of names to their settings, not a list"}},
		{"robot as a value", "robots:\n  ops: x\n", nil, []string{"@2", "robots.ops: want a mapping of webhook, secret, not a single value"}},
		{"robot name with a dash", "robots:\n  on-call: {}\n", nil, []string{"@2", `robots: "on-call": want a name of letters, digits and underscores`}},
		{"config in a config", "config: other.yaml\n", nil, []string{"@1", "cannot name another"}},
		{"not a mapping", "- concurrency: 8\n", nil, []string{"@1", "want settings as key: value", "not a list"}},
		{"two documents", "concurrency: 8\n---\nconcurrency: 9\n", nil, []string{"a second YAML document"}},
		{"not YAML", "concurrency: 8\n  log-level: info\n", nil, []string{"dingq.yaml", "line 2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, c.file)
			_, _, err := serveLoad(t, []string{"--config", path}, c.env)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range c.want {
				if line, ok := strings.CutPrefix(w, "@"); ok {
					w = path + ":" + line + ":"
				}
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestValidateNamesTheFilesLine: a value the flag accepts but Validate does not is reported by
// its variable, and by the key and line of the file that set it.
func TestValidateNamesTheFilesLine(t *testing.T) {
	cases := []struct {
		name string
		file string
		env  map[string]string
		want string // "@" stands for the path
	}{
		{"out of range", "log-level: info\nconcurrency: 0\n", nil, "DINGQ_CONCURRENCY (concurrency at @:2): 0: want 1 to 10000"},
		{"limits", "robot-penalty: 0s\n", nil, "DINGQ_ROBOT_PENALTY (robot-penalty at @:1)"},
		{"nats", "nats-tls-ca: /nonexistent/ca.pem\n", nil, "DINGQ_NATS_TLS_CA (nats-tls-ca at @:1)"},
		{"robot without webhook", "robots:\n  ops:\n    secret: x\n", nil, "DINGQ_ROBOT_OPS_WEBHOOK (robots.ops at @:2): not set"},
		{"app without secret", "apps:\n  sales:\n    key: k\n", nil, "DINGQ_APP_SALES_SECRET (apps.sales at @:2): set both"},
		{"app without credentials", "apps:\n  sales:\n", nil, "DINGQ_APP_SALES_KEY (apps.sales at @:2): the profile has no credentials"},
		{"reserved app name", "apps:\n  default: {kdocs-token: t}\n", nil, "(apps.default at @:2): the name \"default\" is reserved"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, c.file)
			cfg, _, err := serveLoad(t, []string{"--config", path}, c.env)
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.Validate()
			if want := strings.ReplaceAll(c.want, "@", path); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Validate() = %v\nwant an error containing %q", err, want)
			}
		})
	}
	// A value the environment set is the variable's mistake, not the file's.
	cfg, _, err := serveLoad(t, []string{"--config", writeFile(t, "concurrency: 0\n")}, map[string]string{"DINGQ_CONCURRENCY": "-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "DINGQ_CONCURRENCY: -1") {
		t.Errorf("Validate() = %v, want DINGQ_CONCURRENCY: -1 without the file", err)
	}
}

func TestConfigFileThatCannotBeRead(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		filepath.Join(dir, "missing.yaml"): "no such file or directory",
		dir:                                "is a directory",
	}
	for path, want := range cases {
		for _, how := range []struct {
			args []string
			env  map[string]string
		}{{[]string{"--config", path}, nil}, {nil, map[string]string{"DINGQ_CONFIG": path}}} {
			_, _, err := serveLoad(t, how.args, how.env)
			if err == nil || !strings.Contains(err.Error(), "config file "+path+": "+want) {
				t.Errorf("%v %v: error %v, want one naming %s and %q", how.args, how.env, err, path, want)
			}
		}
	}
}

func TestEmptyConfigFile(t *testing.T) {
	for _, content := range []string{"", "# only a comment\n", "---\n", "~\n"} {
		cfg, _, err := serveLoad(t, []string{"--config", writeFile(t, content)}, nil)
		if err != nil {
			t.Errorf("%q: %v", content, err)
			continue
		}
		if err := cfg.Validate(); err != nil || cfg.Concurrency != 64 {
			t.Errorf("%q: Validate() = %v, Concurrency %d", content, err, cfg.Concurrency)
		}
	}
}

// TestOneFileServesEveryCommand: a command reads the settings of `dingq serve` from the file,
// sets those it has, checks the others, and knows its own flags.
func TestOneFileServesEveryCommand(t *testing.T) {
	serveFile := "nats-url: nats://file:4222\nconcurrency: 8\napps: {sales: {kdocs-token: t}}\n"

	// dingq send: the shared settings (config.Register) and flags of its own.
	cfg := config.Default()
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.Register(fs)
	id := fs.String("id", "", "")
	pos, err := config.Parse(fs, []string{"card", "--config", writeFile(t, serveFile+"id: x1\n")}, func(string) string { return "" })
	if err != nil || cfg.NATSURL != "nats://file:4222" || *id != "x1" || len(pos) != 1 {
		t.Errorf("send: err %v, NATSURL %q, id %q, positional %v", err, cfg.NATSURL, *id, pos)
	}
	_, err = config.Parse(fs, []string{"--config", writeFile(t, "concurrency: lots\n")}, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "want a whole number") {
		t.Errorf("send: a setting it does not use is still checked: %v", err)
	}

	// dingq sandbox: no config.Register, so Parse defines --config.
	fs = flag.NewFlagSet("sandbox", flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	level := fs.String("log-level", "info", "")
	listen := fs.String("sandbox-listen", "127.0.0.1:8089", "")
	env := map[string]string{"DINGQ_CONFIG": writeFile(t, serveFile+"log-level: debug\nsandbox-listen: 127.0.0.1:0\n")}
	if _, err := config.Parse(fs, nil, func(k string) string { return env[k] }); err != nil || *level != "debug" || *listen != "127.0.0.1:0" {
		t.Errorf("sandbox: err %v, log-level %q, sandbox-listen %q", err, *level, *listen)
	}
	if _, err := config.Parse(fs, []string{"-h"}, func(string) string { return "" }); !errors.Is(err, flag.ErrHelp) ||
		!strings.Contains(out.String(), "-config") {
		t.Errorf("sandbox -h: %v, usage without --config:\n%s", err, out.String())
	}

	// dingq serve does not know the sandbox's flags.
	_, _, err = serveLoad(t, []string{"--config", writeFile(t, "sandbox-listen: 127.0.0.1:0\n")}, nil)
	if err == nil || !strings.Contains(err.Error(), `unknown key "sandbox-listen"`) {
		t.Errorf("serve: %v", err)
	}
}

// TestFileErrorsNeverShowSecrets puts secrets where they do not belong, and checks every error and
// the printed configuration.
func TestFileErrorsNeverShowSecrets(t *testing.T) {
	files := []string{
		"nats-password: [" + password + "]\n",
		"nats-token: {t: " + token + "}\n",
		"dingtalk-app-secret: appsecret-91fe\ndingtalk-app-secret: appsecret-91fe\n",
		"apps:\n  sales:\n    secret: {x: appsecret-91fe}\n",
		"apps:\n  sales:\n    secrte: appsecret-91fe\n",
		"apps:\n  sales:\n    key: appkey-5d0c\n",
		"apps:\n  sales: appkey-5d0c\n",
		"apps:\n  sales:\n    kdocs-token: kdocs-tok-33aa\n    kdocs-token: kdocs-tok-33aa\n",
		"robots:\n  ops: " + webhook + "\n",
		"robots:\n  ops:\n    webhook: bare-tok-0f6d\n    secret: robot-sec-48c1\n",
		"robots:\n  ops:\n    url: " + webhook + "\n",
		"robots:\n  ops:\n    secret: robot-sec-48c1\n",
		"robots:\n  on-call:\n    webhook: " + webhook + "\n",
		"nats-url: nats://u:" + password + "@:bad\nnats-token: " + token + "\n",
		"kdocs-access-token: \"kdocs-tok-33aa\n",
		"dingtalk-app-secret: appsecret-91fe\n  x: y\n",
		"kdocs-access-token: kdocs-tok-33aa\n---\nnats-password: " + password + "\n",
	}
	for i, file := range files {
		cfg, _, err := serveLoad(t, []string{"--config", writeFile(t, file)}, nil)
		err = errors.Join(err, cfg.Validate())
		if err == nil {
			t.Errorf("file %d: want an error:\n%s", i, file)
			continue
		}
		assertNoSecret(t, fmt.Sprintf("file %d: error", i), err.Error())
		assertNoSecret(t, fmt.Sprintf("file %d: printed configuration", i), fmt.Sprintf("%+v", cfg))
	}
}
