package config_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/dingq/dingq/cmd/internal/config"
)

// secretConfig sets every secret a Config holds.
func secretConfig() config.Config {
	cfg := config.Default()
	cfg.NATSURL = "nats://u:" + password + "@a:4222,nats://b:4222"
	cfg.NATSUser, cfg.NATSPassword, cfg.NATSToken = "dingq", password, token
	cfg.APIURL = "https://api.dingtalk.com/?access_token=" + token
	cfg.AppKey, cfg.AppSecret, cfg.KdocsToken = "appkey-5d0c", "appsecret-91fe", "kdocs-tok-33aa"
	cfg.Apps = map[string]config.App{"sales": {AppKey: "appkey-5d0c", AppSecret: "appsecret-91fe", KdocsToken: "kdocs-tok-33aa"}}
	cfg.Robots = map[string]config.Robot{
		"alerts": {Webhook: webhook + "#robot-tok-e7b2", Secret: "robot-sec-48c1"},
		"bare":   {Webhook: "bare-tok-0f6d"},
	}
	return cfg
}

func TestPrintingHidesSecrets(t *testing.T) {
	cfg := secretConfig()
	values := map[string]any{
		"Config": cfg, "*Config": &cfg, "App": cfg.Apps["sales"], "Robot": cfg.Robots["alerts"],
		"Apps": cfg.Apps, "Robots": cfg.Robots, "in a struct": struct{ C config.Config }{cfg},
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			assertNoSecret(t, name+" printed with "+verb, fmt.Sprintf(verb, v))
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		assertNoSecret(t, name+" as JSON", string(b))
	}
	s := cfg.String()
	for _, want := range []string{"NATSUser:dingq", "NATSPassword:[redacted]", "AppKey:[redacted]", "nats://a:4222,nats://b:4222",
		"sales:config.App{AppKey:[redacted] AppSecret:[redacted] KdocsToken:[redacted]}",
		"Webhook:https://oapi.dingtalk.com/robot/send?[redacted] Secret:[redacted]", "bare:config.Robot{Webhook:[redacted] Secret:}",
		"RateAPI:20/1s", "RobotVia:auto"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() does not show %q:\n%s", want, s)
		}
	}
	if got := cfg.GoString(); got != s {
		t.Errorf("GoString() = %s, want String()", got)
	}
}

func TestPrintingDoesNotChangeTheConfig(t *testing.T) {
	cfg := secretConfig()
	_ = cfg.String()
	if cfg.Apps["sales"].AppSecret != "appsecret-91fe" || cfg.Robots["alerts"].Secret != "robot-sec-48c1" {
		t.Errorf("String() redacted the Config's own maps: %+v", cfg.Apps)
	}
}
