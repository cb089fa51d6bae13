package config_test

import (
	"errors"
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/dingq/dingq/cmd/internal/config"
)

// Values no error or printed configuration may show.
var secrets = []string{
	"appkey-5d0c", "appsecret-91fe", "kdocs-tok-33aa", "robot-tok-e7b2", "robot-sec-48c1", "bare-tok-0f6d",
	password, token,
}

// Webhooks of the tests; the access tokens are among secrets.
const (
	webhook      = "https://oapi.dingtalk.com/robot/send?access_token=robot-tok-e7b2"
	webhookOther = "http://127.0.0.1:8089/robot/send?access_token=robot-tok-e7b2&x=1"
)

// load parses env as `dingq serve` does: flags and variables, then the profiles.
func load(t *testing.T, args []string, env map[string]string) (config.Config, error) {
	t.Helper()
	cfg := config.Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.RegisterServe(fs)
	if _, err := config.Parse(fs, args, func(k string) string { return env[k] }); err != nil {
		return cfg, err
	}
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	return cfg, cfg.ReadProfiles(fs, environ)
}

// check is load, then Validate: every mistake `dingq serve` reports before it starts.
func check(t *testing.T, args []string, env map[string]string) error {
	t.Helper()
	cfg, err := load(t, args, env)
	return errors.Join(err, cfg.Validate())
}

func TestProfilesFromTheEnvironment(t *testing.T) {
	env := map[string]string{
		"DINGQ_DINGTALK_APP_KEY":        "default-key",
		"DINGQ_DINGTALK_APP_SECRET":     "default-secret",
		"DINGQ_KDOCS_ACCESS_TOKEN":      "default-kdocs",
		"DINGQ_APP_SALES_KEY":           "appkey-5d0c",
		"DINGQ_APP_SALES_SECRET":        "appsecret-91fe",
		"DINGQ_APP_SALES_KDOCS_TOKEN":   "kdocs-tok-33aa",
		"DINGQ_APP_Ops_EU_2_KEY":        "ops-key",
		"DINGQ_APP_Ops_EU_2_SECRET":     "ops-secret",
		"DINGQ_APP_RELAY_KDOCS_TOKEN":   "relay-only",
		"DINGQ_APP_EMPTY_KEY":           "", // unset
		"DINGQ_ROBOT_ALERTS_WEBHOOK":    webhook,
		"DINGQ_ROBOT_ALERTS_SECRET":     "robot-sec-48c1",
		"DINGQ_ROBOT_build_bot_WEBHOOK": webhookOther,
		"DINGQ_ROBOT_VIA":               "direct", // flags, not robots
		"DINGQ_ROBOT_PENALTY":           "5m",
		"DINGQ_NATS_URL":                "nats://n:4222", // not a profile
	}
	cfg, err := load(t, nil, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	wantApps := map[string]config.App{
		"sales":    {AppKey: "appkey-5d0c", AppSecret: "appsecret-91fe", KdocsToken: "kdocs-tok-33aa"},
		"ops_eu_2": {AppKey: "ops-key", AppSecret: "ops-secret"},
		"relay":    {KdocsToken: "relay-only"},
	}
	wantRobots := map[string]config.Robot{
		"alerts":    {Webhook: webhook, Secret: "robot-sec-48c1"},
		"build_bot": {Webhook: webhookOther},
	}
	if !reflect.DeepEqual(cfg.Apps, wantApps) {
		t.Errorf("Apps = %v\nwant %v", cfg.Apps, wantApps)
	}
	if !reflect.DeepEqual(cfg.Robots, wantRobots) {
		t.Errorf("Robots = %v\nwant %v", cfg.Robots, wantRobots)
	}
	if cfg.RobotVia != "direct" || cfg.RobotPenalty.String() != "5m0s" {
		t.Errorf("RobotVia %q, RobotPenalty %v", cfg.RobotVia, cfg.RobotPenalty)
	}
}

func TestNoProfiles(t *testing.T) {
	cfg, err := load(t, nil, map[string]string{"DINGQ_ROBOT_VIA": "relay", "DINGQ_APP_X_KEY": ""})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Apps != nil || cfg.Robots != nil {
		t.Errorf("Apps %v, Robots %v; want none", cfg.Apps, cfg.Robots)
	}
}

func TestTheFirstOfARepeatedVariableWins(t *testing.T) {
	cfg := config.Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.RegisterServe(fs)
	err := cfg.ReadProfiles(fs, []string{"DINGQ_APP_A_KDOCS_TOKEN=first", "DINGQ_APP_A_KDOCS_TOKEN=second", "NOT_A_PAIR"})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Apps["a"].KdocsToken; got != "first" {
		t.Errorf("KdocsToken = %q, want first (as os.Getenv)", got)
	}
}

func TestAppLookup(t *testing.T) {
	cfg := config.Default()
	cfg.AppKey, cfg.AppSecret, cfg.KdocsToken = "dk", "ds", "dt"
	cfg.Apps = map[string]config.App{"sales": {AppKey: "sk", AppSecret: "ss"}}
	def := config.App{AppKey: "dk", AppSecret: "ds", KdocsToken: "dt"}
	sales := config.App{AppKey: "sk", AppSecret: "ss"}
	cases := []struct {
		name string
		want config.App
		ok   bool
	}{
		{"", def, true},
		{"default", def, true},
		{"Default", def, true},
		{"sales", sales, true},
		{"SALES", sales, true},
		{"Sales", sales, true},
		{"marketing", config.App{}, false},
	}
	for _, c := range cases {
		got, ok := cfg.App(c.name)
		if got != c.want || ok != c.ok {
			t.Errorf("App(%q) = %+v, %v; want %+v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestRobotLookup(t *testing.T) {
	cfg := config.Default()
	cfg.Robots = map[string]config.Robot{"alerts": {Webhook: webhook}}
	for name, ok := range map[string]bool{"alerts": true, "ALERTS": true, "Alerts": true, "": false, "via": false} {
		if _, got := cfg.Robot(name); got != ok {
			t.Errorf("Robot(%q) ok = %v, want %v", name, got, ok)
		}
	}
}

func TestProfileMistakesNameTheVariable(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"unknown app setting", map[string]string{"DINGQ_APP_SALES_SECRETS": "appsecret-91fe"},
			[]string{"DINGQ_APP_SALES_SECRETS", "not a setting"}},
		{"app setting in lower case", map[string]string{"DINGQ_APP_SALES_key": "appkey-5d0c"},
			[]string{"DINGQ_APP_SALES_key"}},
		{"app token without KDOCS", map[string]string{"DINGQ_APP_SALES_TOKEN": "kdocs-tok-33aa"},
			[]string{"DINGQ_APP_SALES_TOKEN"}},
		{"empty unknown setting", map[string]string{"DINGQ_APP_SALES_SECRT": ""},
			[]string{"DINGQ_APP_SALES_SECRT"}},
		{"app without a name", map[string]string{"DINGQ_APP_KEY": "appkey-5d0c"},
			[]string{"DINGQ_APP_KEY"}},
		{"app with an empty name", map[string]string{"DINGQ_APP__KEY": "appkey-5d0c", "DINGQ_APP__SECRET": "appsecret-91fe"},
			[]string{"DINGQ_APP__KEY", "DINGQ_APP__SECRET"}},
		{"app name with a dash", map[string]string{"DINGQ_APP_SA-LES_KEY": "appkey-5d0c"},
			[]string{"DINGQ_APP_SA-LES_KEY", "letters, digits and underscores"}},
		{"key without secret", map[string]string{"DINGQ_APP_SALES_KEY": "appkey-5d0c"},
			[]string{"DINGQ_APP_SALES_SECRET", "set both"}},
		{"secret without key", map[string]string{"DINGQ_APP_SALES_SECRET": "appsecret-91fe", "DINGQ_APP_SALES_KDOCS_TOKEN": "kdocs-tok-33aa"},
			[]string{"DINGQ_APP_SALES_KEY", "set both"}},
		{"reserved name", map[string]string{"DINGQ_APP_DEFAULT_KEY": "appkey-5d0c", "DINGQ_APP_DEFAULT_SECRET": "appsecret-91fe"},
			[]string{"DINGQ_APP_DEFAULT_", "reserved"}},
		{"one setting in two spellings", map[string]string{"DINGQ_APP_SALES_KDOCS_TOKEN": "kdocs-tok-33aa", "DINGQ_APP_Sales_KDOCS_TOKEN": "appkey-5d0c"},
			[]string{"DINGQ_APP_Sales_KDOCS_TOKEN", "DINGQ_APP_SALES_KDOCS_TOKEN", "the same setting"}},
		{"unknown robot setting", map[string]string{"DINGQ_ROBOT_ALERTS_URL": webhook},
			[]string{"DINGQ_ROBOT_ALERTS_URL", "not a setting"}},
		{"robot flag's look-alike", map[string]string{"DINGQ_ROBOT_VIAS": "relay"},
			[]string{"DINGQ_ROBOT_VIAS"}},
		{"robot secret without webhook", map[string]string{"DINGQ_ROBOT_ALERTS_SECRET": "robot-sec-48c1"},
			[]string{"DINGQ_ROBOT_ALERTS_WEBHOOK", "needs its webhook"}},
		{"webhook without a token", map[string]string{"DINGQ_ROBOT_ALERTS_WEBHOOK": "https://oapi.dingtalk.com/robot/send", "DINGQ_ROBOT_ALERTS_SECRET": "robot-sec-48c1"},
			[]string{"DINGQ_ROBOT_ALERTS_WEBHOOK", "access_token"}},
		{"webhook with an empty token", map[string]string{"DINGQ_ROBOT_ALERTS_WEBHOOK": "https://oapi.dingtalk.com/robot/send?access_token=&x=robot-tok-e7b2"},
			[]string{"DINGQ_ROBOT_ALERTS_WEBHOOK"}},
		{"relative webhook", map[string]string{"DINGQ_ROBOT_ALERTS_WEBHOOK": "/robot/send?access_token=robot-tok-e7b2"},
			[]string{"DINGQ_ROBOT_ALERTS_WEBHOOK"}},
		{"webhook without scheme", map[string]string{"DINGQ_ROBOT_ALERTS_WEBHOOK": "oapi.dingtalk.com/robot/send?access_token=robot-tok-e7b2"},
			[]string{"DINGQ_ROBOT_ALERTS_WEBHOOK"}},
		{"webhook is a bare token", map[string]string{"DINGQ_ROBOT_ALERTS_WEBHOOK": "bare-tok-0f6d"},
			[]string{"DINGQ_ROBOT_ALERTS_WEBHOOK"}},
		{"unparsable webhook", map[string]string{"DINGQ_ROBOT_ALERTS_WEBHOOK": "https://x y/%zz?access_token=robot-tok-e7b2"},
			[]string{"DINGQ_ROBOT_ALERTS_WEBHOOK"}},
		{"webhook of another scheme", map[string]string{"DINGQ_ROBOT_ALERTS_WEBHOOK": "ftp://oapi.dingtalk.com/robot/send?access_token=robot-tok-e7b2"},
			[]string{"DINGQ_ROBOT_ALERTS_WEBHOOK"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := check(t, nil, c.env)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			assertNoSecret(t, "error", err.Error())
		})
	}
}

func TestValidateChecksProfilesSetInCode(t *testing.T) {
	cases := []struct {
		name   string
		apps   map[string]config.App
		robots map[string]config.Robot
		want   string
	}{
		{"upper-case profile name", map[string]config.App{"Sales": {KdocsToken: "kdocs-tok-33aa"}}, nil, "DINGQ_APP_SALES_"},
		{"reserved profile name", map[string]config.App{"default": {KdocsToken: "kdocs-tok-33aa"}}, nil, "reserved"},
		{"robot name with a space", nil, map[string]config.Robot{"on call": {Webhook: webhook}}, "DINGQ_ROBOT_ON CALL_"},
		{"robot without webhook", nil, map[string]config.Robot{"alerts": {}}, "DINGQ_ROBOT_ALERTS_WEBHOOK"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Apps, cfg.Robots = c.apps, c.robots
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, c.want)
			}
		})
	}
	cfg := config.Default()
	cfg.Robots = map[string]config.Robot{"on-call": {Webhook: webhook}} // '-' is allowed in code
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

// TestErrorsNeverShowSecrets sets every secret, and makes every mistake at once.
func TestErrorsNeverShowSecrets(t *testing.T) {
	env := map[string]string{
		"DINGQ_NATS_URL":               "nats://u:" + password + "@:bad",
		"DINGQ_NATS_TOKEN":             token,
		"DINGQ_DINGTALK_APP_SECRET":    "appsecret-91fe",
		"DINGQ_DINGTALK_API_URL":       "ftp://u:" + password + "@x/?access_token=" + token,
		"DINGQ_KDOCS_ACCESS_TOKEN":     "kdocs-tok-33aa",
		"DINGQ_APP_SALES_KEY":          "appkey-5d0c",
		"DINGQ_APP_OPS_SECRET":         "appsecret-91fe",
		"DINGQ_APP_OPS_KDOCS_TOKENS":   "kdocs-tok-33aa",
		"DINGQ_ROBOT_A_WEBHOOK":        "bare-tok-0f6d",
		"DINGQ_ROBOT_B_WEBHOOK":        "https://oapi.dingtalk.com/robot/send?token=robot-tok-e7b2",
		"DINGQ_ROBOT_B_SECRET":         "robot-sec-48c1",
		"DINGQ_ROBOT_C_SIGNING_SECRET": "robot-sec-48c1",
		"DINGQ_ROBOT_VIA":              "both",
		"DINGQ_ROBOT_PENALTY":          "0s",
	}
	err := check(t, nil, env)
	if err == nil {
		t.Fatal("want errors")
	}
	assertNoSecret(t, "error", err.Error())
	for _, v := range []string{"DINGQ_APP_SALES_SECRET", "DINGQ_APP_OPS_KEY", "DINGQ_APP_OPS_KDOCS_TOKENS", "DINGQ_ROBOT_A_WEBHOOK",
		"DINGQ_ROBOT_B_WEBHOOK", "DINGQ_ROBOT_C_SIGNING_WEBHOOK", "DINGQ_ROBOT_C_SIGNING_SECRET", "DINGQ_ROBOT_VIA", "DINGQ_ROBOT_PENALTY"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("error does not name %s:\n%v", v, err)
		}
	}
}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range secrets {
		if strings.Contains(s, secret) {
			t.Errorf("%s shows %q:\n%s", what, secret, s)
		}
	}
}
