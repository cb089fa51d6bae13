package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/workertest"
)

// The tests of the sandbox's strict robot signatures as the commands configure them: `dingq
// sandbox` by flag and variable, `dingq serve --sandbox` from the worker's named robots.

// Secrets of these tests; no output may show them.
const (
	strictSecretA = "SECsandbox-strict-a-31f9"
	strictSecretB = "SECsandbox-strict-b-77c0"
	strictSecretC = "SECsandbox-strict-c-0d4e"
)

func TestSandboxRobotSecretsFlagAndEnv(t *testing.T) {
	env := config.EnvName(config.RobotSecretsFlag)
	if env != "DINGQ_SANDBOX_ROBOT_SECRETS" {
		t.Fatalf("the flag's variable is %s", env)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want map[string]string
	}{
		{"none", nil, nil, nil},
		{"flag, repeated and with ','", []string{"--sandbox-robot-secrets", "tok-a=" + strictSecretA,
			"--sandbox-robot-secrets", "tok-b=" + strictSecretB + ", tok-c=" + strictSecretC + ","},
			nil, map[string]string{"tok-a": strictSecretA, "tok-b": strictSecretB, "tok-c": strictSecretC}},
		{"variable", nil, map[string]string{env: "tok-a=" + strictSecretA + ",tok-b=" + strictSecretB},
			map[string]string{"tok-a": strictSecretA, "tok-b": strictSecretB}},
		{"the flag wins over the variable", []string{"--sandbox-robot-secrets=tok-c=" + strictSecretC},
			map[string]string{env: "tok-a=" + strictSecretA}, map[string]string{"tok-c": strictSecretC}},
		{"the same robot twice, one secret", []string{"--sandbox-robot-secrets", "tok-a=" + strictSecretA + ",tok-a=" + strictSecretA},
			nil, map[string]string{"tok-a": strictSecretA}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, sc, err := parseSandbox(tc.args, stdio{out: io.Discard, err: io.Discard, getenv: mapEnv(tc.env)})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if !maps.Equal(sc.RobotSecrets, tc.want) {
				t.Errorf("RobotSecrets = %v, want %v", sc.RobotSecrets, tc.want)
			}
		})
	}
}

// A malformed value is a usage mistake (exit code 2) that names the flag, its variable and the
// entry's place, and shows no value.
func TestSandboxRobotSecretsRefused(t *testing.T) {
	env := config.EnvName(config.RobotSecretsFlag)
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no '='", []string{"--sandbox-robot-secrets", "tok-a=" + strictSecretA + ",oops-" + strictSecretB}, nil, "entry 2"},
		{"empty secret", []string{"--sandbox-robot-secrets", "tok-a="}, nil, "entry 1"},
		{"empty token", nil, map[string]string{env: "=" + strictSecretA}, "entry 1"},
		{"two secrets for one robot", nil, map[string]string{env: "tok-a=" + strictSecretA + ",tok-a=" + strictSecretB}, "two different secrets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			args := append([]string{"sandbox", "--sandbox-listen", "127.0.0.1:0"}, tc.args...)
			code := run(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, err: &out, getenv: mapEnv(tc.env)})
			if code != 2 || !strings.Contains(out.String(), tc.want) || !strings.Contains(out.String(), "--sandbox-robot-secrets") ||
				!strings.Contains(out.String(), env) {
				t.Errorf("exit %d, output %q; want 2 naming the flag, %s and %q", code, out.String(), env, tc.want)
			}
			for _, secret := range []string{strictSecretA, strictSecretB, "oops", "tok-a"} {
				if strings.Contains(out.String(), secret) {
					t.Errorf("the output shows %q: %s", secret, out.String())
				}
			}
		})
	}
	// -h lists the flag without a value.
	var out strings.Builder
	if code := run(context.Background(), []string{"sandbox", "-h"}, stdio{out: &out, err: &out, getenv: mapEnv(nil)}); code != 0 ||
		!strings.Contains(out.String(), "-sandbox-robot-secrets access_token=SECRET") {
		t.Errorf("help: exit %d\n%s", code, out.String())
	}
}

// signedQuery is the query of a webhook message to the robot of token, signed with secret now.
func signedQuery(token, secret string) string {
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "\n" + secret))
	return url.Values{"access_token": {token}, "timestamp": {ts}, "sign": {base64.StdEncoding.EncodeToString(mac.Sum(nil))}}.Encode()
}

// postJSON posts body to u and returns the status and the answer.
func postJSON(t *testing.T, u, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// `dingq sandbox` with DINGQ_SANDBOX_ROBOT_SECRETS: its webhook refuses an unsigned message to a
// signing robot, takes a signed one, and its relay wants the robot's secret as sk.
func TestSandboxCommandChecksRobotSignatures(t *testing.T) {
	out := &workertest.LogBuffer{}
	env := map[string]string{"DINGQ_SANDBOX_ROBOT_SECRETS": "tok-a=" + strictSecretA + ",tok-b=" + strictSecretB}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sandbox", "--sandbox-listen", "127.0.0.1:0"}, stdio{in: strings.NewReader(""), out: out, err: out, getenv: mapEnv(env)})
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit code %d\n%s", code, out)
		}
		for _, secret := range []string{strictSecretA, strictSecretB, "tok-a"} {
			if strings.Contains(out.String(), secret) {
				t.Errorf("the output shows %q:\n%s", secret, out)
			}
		}
	})
	waitFor(t, 10*time.Second, "the sandbox serving", func() bool { return out.Has(sandboxServing) }, out)
	ev := out.Events(sandboxServing)[0]
	base, _ := ev["url"].(string)
	if n, _ := ev["signing_robots"].(float64); base == "" || n != 2 {
		t.Fatalf("start event %v, want a url and 2 signing robots", ev)
	}

	const msg = `{"msgtype":"text","text":{"content":"hello"}}`
	for _, tc := range []struct {
		name, query, want string
	}{
		{"signed", signedQuery("tok-a", strictSecretA), `"errcode":0`},
		{"unsigned", "access_token=tok-a", `"errcode":310000`},
		{"signed with another robot's secret", signedQuery("tok-a", strictSecretB), `"errcode":310000`},
		{"a robot that does not sign", "access_token=tok-plain", `"errcode":0`},
	} {
		if status, body := postJSON(t, base+"/robot/send?"+tc.query, msg); status != 200 || !strings.Contains(body, tc.want) {
			t.Errorf("webhook, %s: %d %s, want %s", tc.name, status, body, tc.want)
		}
	}
	relay := func(sk string) string {
		return `{"link":"https://oapi.dingtalk.com/robot/send?access_token=tok-b","sk":"` + sk + `","data":[` + msg + `]}`
	}
	if status, body := postJSON(t, base+"/api/v1/openapi/notification/dingtalk?access_token=k", relay(strictSecretB)); status != 200 || body != `{"code":0,"data":{}}` {
		t.Errorf("relay with the robot's secret: %d %s", status, body)
	}
	if status, body := postJSON(t, base+"/api/v1/openapi/notification/dingtalk?access_token=k", relay("SECwrong")); status != 200 || !strings.Contains(body, `"code":310000`) {
		t.Errorf("relay with a wrong sk: %d %s, want code 310000", status, body)
	}
}

func TestSandboxInProcessTakesNamedRobotSecrets(t *testing.T) {
	cfg := config.Default()
	cfg.Robots = map[string]config.Robot{
		"ops":     {Webhook: "https://oapi.dingtalk.com/robot/send?access_token=ops-token", Secret: strictSecretA},
		"alerts":  {Webhook: "https://oapi.dingtalk.com/robot/send?access_token=alerts-token"}, // does not sign
		"ops-bis": {Webhook: "https://oapi.dingtalk.com/robot/send?access_token=ops-token", Secret: strictSecretB},
		"build":   {Webhook: "https://oapi.dingtalk.com/robot/send?access_token=build-token&x=1", Secret: strictSecretC},
	}
	sc := inProcessSandbox(cfg, zerolog.Nop())
	want := map[string]string{"ops-token": strictSecretA, "build-token": strictSecretC} // "ops" before "ops-bis"
	if !maps.Equal(sc.RobotSecrets, want) {
		t.Errorf("RobotSecrets = %v, want %v", sc.RobotSecrets, want)
	}
	if sc := inProcessSandbox(config.Default(), zerolog.Nop()); sc.RobotSecrets != nil {
		t.Errorf("without named robots: RobotSecrets = %v, want none", sc.RobotSecrets)
	}
}

// `dingq serve --sandbox` signs its named robot's messages and its sandbox checks them with the
// robot's configured secret: the named robot's jobs are sent, while link jobs to the same webhook
// with a wrong or no sk are dead-lettered with DingTalk's 310000, as DingTalk would refuse them.
func TestServeSandboxChecksNamedRobotSignatures(t *testing.T) {
	const opsToken = "ops-robot-token-5a1e"
	natsAddr := freeAddr(t)
	env := map[string]string{
		"DINGQ_NATS_LISTEN":       natsAddr,
		"DINGQ_DATA_DIR":          t.TempDir(),
		"DINGQ_HTTP_ADDR":         freeAddr(t),
		"DINGQ_SANDBOX":           "true",
		"DINGQ_ROBOT_VIA":         "direct",
		"DINGQ_RATE_ROBOT":        "off",
		"DINGQ_BACKOFF_INITIAL":   "50ms",
		"DINGQ_MAX_ATTEMPTS":      "3",
		"DINGQ_ROBOT_OPS_WEBHOOK": "https://oapi.dingtalk.com/robot/send?access_token=" + opsToken,
		"DINGQ_ROBOT_OPS_SECRET":  strictSecretA,
	}
	out := &workertest.LogBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, stdio{in: strings.NewReader(""), out: out, err: out, getenv: mapEnv(env), environ: environOf(env)})
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit code %d", code)
		}
	})
	waitFor(t, 30*time.Second, "worker started", func() bool { return out.Has("worker started") }, out)

	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	const data = `"data":[{"msgtype":"text","text":{"content":"deploy finished"}}]`
	link := func(token, sk string) string {
		s := `{"link":"https://oapi.dingtalk.com/robot/send?access_token=` + token + `",`
		if sk != "" {
			s += `"sk":"` + sk + `",`
		}
		return s + data + `}`
	}
	jobs := map[string]struct {
		body string
		sent bool
	}{
		"strict-named":     {`{"robot":"ops",` + data + `}`, true},
		"strict-right-sk":  {link(opsToken, strictSecretA), true},
		"strict-wrong-sk":  {link(opsToken, strictSecretB), false},
		"strict-no-sk":     {link(opsToken, ""), false},
		"strict-unsigning": {link("another-robot-token", ""), true},
	}
	for id, j := range jobs {
		publish(t, js, schema.KindRobot, j.body, nats.Header{"Nats-Msg-Id": {id}})
	}
	outcome := func(id string) string {
		for _, msg := range []string{"sent", "dead-lettered"} {
			for _, ev := range out.Events(msg) {
				if ev["job_id"] == id {
					return msg
				}
			}
		}
		return ""
	}
	waitFor(t, 30*time.Second, "every job's outcome", func() bool {
		for id := range jobs {
			if outcome(id) == "" {
				return false
			}
		}
		return true
	}, out)
	for id, j := range jobs {
		got := outcome(id)
		if j.sent && got != "sent" || !j.sent && got != "dead-lettered" {
			t.Errorf("job %s: %s, want sent %v", id, got, j.sent)
		}
	}
	for _, ev := range out.Events("dead-lettered") {
		if ev["code"] != "310000" || ev["reason"] != "rejected" {
			t.Errorf("dead letter %v, want rejected with DingTalk's 310000", ev)
		}
		if attempt, _ := ev["attempt"].(float64); attempt != 1 {
			t.Errorf("dead letter %v after %v attempts, want 1: a sign mismatch is not retried", ev["job_id"], attempt)
		}
	}
	for _, secret := range []string{strictSecretA, strictSecretB, opsToken} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("the output shows %q", secret)
		}
	}
}
