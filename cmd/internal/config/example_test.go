package config_test

import (
	"flag"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/dingq/dingq/cmd/internal/config"
)

const exampleFile = "../../../deploy/dingq.example.yaml"

// exampleKeys returns the example's top-level keys, and each section's settings by dotted path
// ("apps.sales.secret") with their values.
func exampleKeys(t *testing.T) (top []string, values map[string]string) {
	t.Helper()
	data, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	values = map[string]string{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			if path == "" {
				top = append(top, k)
			}
			if v.Kind == yaml.MappingNode {
				walk(v, path+k+".")
				continue
			}
			values[path+k] = v.Value
		}
	}
	walk(doc.Content[0], "")
	return top, values
}

// TestExampleHoldsEverySettingWithItsDefault: the example parses, holds every setting of
// `dingq serve` and nothing else, and its values are the defaults.
func TestExampleHoldsEverySettingWithItsDefault(t *testing.T) {
	cfg, fs, err := serveLoad(t, []string{"--config", exampleFile}, nil)
	if err != nil {
		t.Fatalf("the example does not parse: %v", err)
	}
	top, _ := exampleKeys(t)
	var want []string
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "config" && f.Name != "demo" { // demo: a flag of the command, not a setting
			want = append(want, f.Name)
		}
		if got := f.Value.String(); got != f.DefValue && f.Name != "config" {
			t.Errorf("%s: the example sets %q, the default is %q", f.Name, got, f.DefValue)
		}
	})
	want = append(want, "apps", "robots")
	slices.Sort(top)
	slices.Sort(want)
	if !slices.Equal(top, want) {
		t.Errorf("the example's keys:\n%v\nwant every setting of dingq serve:\n%v", top, want)
	}
	if cfg.File != exampleFile {
		t.Errorf("File = %q", cfg.File)
	}
}

// TestExampleKeepsSecretsInTheEnvironment: every secret of the example is empty, the
// environment fills it, and without it the errors name the variables to set.
func TestExampleKeepsSecretsInTheEnvironment(t *testing.T) {
	_, values := exampleKeys(t)
	for _, key := range []string{"nats-password", "nats-token", "dingtalk-app-secret", "kdocs-access-token",
		"apps.sales.key", "apps.sales.secret", "apps.sales.kdocs-token", "robots.ops.webhook", "robots.ops.secret"} {
		if v, ok := values[key]; !ok || v != "" {
			t.Errorf("%s: %q, present %v; want it present and empty", key, v, ok)
		}
	}

	env := map[string]string{
		"DINGQ_APP_SALES_KEY":         "appkey-5d0c",
		"DINGQ_APP_SALES_SECRET":      "appsecret-91fe",
		"DINGQ_APP_SALES_KDOCS_TOKEN": "kdocs-tok-33aa",
		"DINGQ_ROBOT_OPS_WEBHOOK":     webhook,
		"DINGQ_ROBOT_OPS_SECRET":      "robot-sec-48c1",
	}
	cfg, _, err := serveLoad(t, []string{"--config", exampleFile}, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the example with its secrets in the environment: %v", err)
	}
	if a, _ := cfg.App("sales"); a != (config.App{AppKey: "appkey-5d0c", AppSecret: "appsecret-91fe", KdocsToken: "kdocs-tok-33aa"}) {
		t.Errorf("App(sales) = %v", a)
	}
	if r, _ := cfg.Robot("ops"); r != (config.Robot{Webhook: webhook, Secret: "robot-sec-48c1"}) {
		t.Errorf("Robot(ops) = %v", r)
	}

	cfg, _, err = serveLoad(t, []string{"--config", exampleFile}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	for _, v := range []string{"DINGQ_APP_SALES_KEY", "DINGQ_ROBOT_OPS_WEBHOOK"} {
		if err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("the example without the environment: %v; want an error naming %s", err, v)
		}
	}
}

// TestExampleServesEveryCommand: `dingq send` and `dingq sandbox` read the same file.
func TestExampleServesEveryCommand(t *testing.T) {
	for name, register := range map[string]func(*config.Config, *flag.FlagSet){
		"send":    (*config.Config).Register,
		"sandbox": func(c *config.Config, fs *flag.FlagSet) { fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "") },
	} {
		cfg := config.Default()
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		register(&cfg, fs)
		if _, err := config.Parse(fs, []string{"--config", exampleFile}, func(string) string { return "" }); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
