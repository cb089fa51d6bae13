package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/dingq/dingq/dispatcher/sandbox"
	"github.com/dingq/dingq/schema"
)

// Secrets of the robot jobs the masking tests dead-letter; `dlq show` prints none of them
// without --reveal.
const (
	maskSK       = "SECmask-sk-4c2e9a17"
	maskToken    = "mask-access-token-8b3d6f01"
	maskHdrToken = "mask-header-token-5a7c0e92"
)

// showOutputs runs `dlq show ref` in text and --json, with and without --reveal; env's own
// DINGQ_REVEAL, if any, must not count.
func showOutputs(t *testing.T, env map[string]string, ref string) (text, asJSON, revealText, revealJSON string) {
	t.Helper()
	run := func(args ...string) string {
		t.Helper()
		code, stdout, stderr := cliSplit(env, append([]string{"dlq", "show", ref}, args...)...)
		if code != 0 {
			t.Fatalf("dlq show %s %v: exit %d: %s%s", ref, args, code, stdout, stderr)
		}
		return stdout
	}
	return run(), run("--json"), run("--reveal"), run("--json", "--reveal")
}

// showJSON decodes `dlq show --json` of one letter.
func showJSON(t *testing.T, out string) (body string, headers map[string][]string, isMasked bool) {
	t.Helper()
	var s struct {
		Body    string              `json:"body"`
		Headers map[string][]string `json:"headers"`
		Masked  bool                `json:"masked"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("show --json: %v: %s", err, out)
	}
	return s.Body, s.Headers, s.Masked
}

// A robot job with a signing secret and a webhook token, and a header URL with a token of its
// own, is rejected by DingTalk: `dlq show` masks all three, in text and in JSON, and keeps the
// body valid JSON; --reveal prints the letter as it was stored.
func TestDLQShowMasksSecretsUnlessRevealed(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	h.start(env)
	if err := h.sb.AddFault(sandbox.Fault{Kind: schema.KindRobot, Contains: "mask-me", Preset: sandbox.PresetReject}); err != nil {
		t.Fatal(err)
	}
	body := `{"link":"https://oapi.dingtalk.com/robot/send?access_token=` + maskToken + `","sk":"` + maskSK +
		`","data":[{"msgtype":"text","text":{"content":"mask-me"}}]}`
	callback := "https://example.com/cb?access_token=" + maskHdrToken + "&x=1"
	publish(t, h.js, schema.KindRobot, body, nats.Header{schema.HeaderMsgID: {"mask-1"}, "X-Callback": {callback}})
	h.waitDeadLetters(1)

	env["DINGQ_REVEAL"] = "true" // only the command line reveals
	text, asJSON, revealText, revealJSON := showOutputs(t, env, "mask-1")
	secrets := []string{maskSK, maskToken, maskHdrToken}
	for _, s := range secrets {
		for name, out := range map[string]string{"text": text, "--json": asJSON} {
			if strings.Contains(out, s) {
				t.Errorf("show %s prints the secret %q:\n%s", name, s, out)
			}
		}
		for name, out := range map[string]string{"text": revealText, "--json": revealJSON} {
			if !strings.Contains(out, s) {
				t.Errorf("show %s --reveal lacks %q:\n%s", name, s, out)
			}
		}
	}

	masked := `{"link":"https://oapi.dingtalk.com/robot/send?access_token=[redacted]","sk":"[redacted]","data":[{"msgtype":"text","text":{"content":"mask-me"}}]}`
	for _, want := range []string{"job mask-1 (robot), rejected", "secrets masked", "--reveal",
		"X-Callback: https://example.com/cb?access_token=[redacted]&x=1", masked,
		"body (" + strconv.Itoa(len(body)) + " bytes):"} {
		if !strings.Contains(text, want) {
			t.Errorf("show lacks %q:\n%s", want, text)
		}
	}
	got, headers, isMasked := showJSON(t, asJSON)
	if got != masked || !isMasked || headers["X-Callback"][0] != "https://example.com/cb?access_token=[redacted]&x=1" {
		t.Errorf("show --json: body %s, masked %v, X-Callback %q", got, isMasked, headers["X-Callback"])
	}

	if strings.Contains(revealText, "secrets masked") || !strings.Contains(revealText, body) ||
		!strings.Contains(revealText, "X-Callback: "+callback) {
		t.Errorf("show --reveal is not the letter as stored:\n%s", revealText)
	}
	got, headers, isMasked = showJSON(t, revealJSON)
	if got != body || isMasked || headers["X-Callback"][0] != callback {
		t.Errorf("show --json --reveal: body %s, masked %v, X-Callback %q", got, isMasked, headers["X-Callback"])
	}
}

// A robot job too large for its dead letter to hold whole is stored truncated: its body is no
// longer JSON, and show masks it as text.
func TestDLQShowMasksATruncatedBody(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	h.start(env)
	big := nats.NewMsg(schema.NewNames("").SendSubject(schema.KindRobot))
	big.Header.Set(schema.HeaderMsgID, "mask-big")
	head := `{"link":"https://oapi.dingtalk.com/robot/send?access_token=` + maskToken + `","sk":"` + maskSK +
		`","data":[{"msgtype":"text","text":{"content":"`
	block := len("NATS/1.0\r\n" + schema.HeaderMsgID + ": mask-big\r\n\r\n")
	big.Data = append([]byte(head), bytes.Repeat([]byte("x"), int(h.js.Conn().MaxPayload())-block-len(head))...)
	if _, err := h.js.PublishMsg(context.Background(), big); err != nil {
		t.Fatal(err)
	}
	h.waitDeadLetters(1)

	text, asJSON, revealText, revealJSON := showOutputs(t, env, "mask-big")
	if !strings.Contains(text, "body truncated") {
		t.Fatalf("the letter is not truncated:\n%.2000s", text)
	}
	for _, s := range []string{maskSK, maskToken} {
		if strings.Contains(text, s) || strings.Contains(asJSON, s) {
			t.Errorf("show of a truncated body prints the secret %q", s)
		}
		if !strings.Contains(revealText, s) || !strings.Contains(revealJSON, s) {
			t.Errorf("show --reveal of a truncated body lacks %q", s)
		}
	}
	want := `{"link":"https://oapi.dingtalk.com/robot/send?access_token=[redacted]","sk":"[redacted]","data":[{"msgtype":"text","text":{"content":"xxx`
	if got, _, isMasked := showJSON(t, asJSON); !strings.HasPrefix(got, want) || !isMasked {
		t.Errorf("show --json: masked %v, body %.300s", isMasked, got)
	}
}

func TestDLQShowHelpNamesReveal(t *testing.T) {
	_, out := cli(nil, "", "dlq", "show", "-h")
	if !strings.Contains(out, "-reveal") || !strings.Contains(out, "[redacted]") {
		t.Errorf("dlq show -h does not describe --reveal:\n%s", out)
	}
	for _, sub := range []string{"list", "replay", "purge"} {
		if code, out := cli(nil, "", "dlq", sub, "--reveal"); code != 2 || !strings.Contains(out, "reveal") {
			t.Errorf("dlq %s --reveal: exit %d, want 2: %s", sub, code, out)
		}
	}
}
