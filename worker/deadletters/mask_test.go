package deadletters

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

func TestMaskBody(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"robot job",
			`{"link":"https://oapi.dingtalk.com/robot/send?access_token=T1","sk":"S1","data":[]}`,
			`{"link":"https://oapi.dingtalk.com/robot/send?access_token=[redacted]","sk":"[redacted]","data":[]}`},
		{"any depth and case, spacing kept",
			"{\n  \"a\": {\"Access_Token\" : \"T2\", \"n\": [ {\"SK\": 42} ]},\n  \"keep\": \"v\"\n}",
			"{\n  \"a\": {\"Access_Token\" : \"[redacted]\", \"n\": [ {\"SK\": \"[redacted]\"} ]},\n  \"keep\": \"v\"\n}"},
		{"an object or array value Masked whole",
			`{"sk":{"x":"y","z":[1,{"a":2}]},"access_token":["T3"],"after":"ok"}`,
			`{"sk":"[redacted]","access_token":"[redacted]","after":"ok"}`},
		{"unset secrets kept", `{"sk":"","access_token":null,"SK":false}`, `{"sk":"","access_token":null,"SK":false}`},
		{"escaped & in a URL",
			`{"link":"https://x/s?access_token=T4\u0026timestamp=1","other":"a\u0026b"}`,
			`{"link":"https://x/s?access_token=[redacted]&timestamp=1","other":"a\u0026b"}`},
		{"a URL inside text",
			`{"text":"see https://x/s?a=1&sk=S5#top now, and access_token=T5"}`,
			`{"text":"see https://x/s?a=1&sk=[redacted]#top now, and access_token=[redacted]"}`},
		{"an escaped member name", `{"s\u006b":"S6"}`, `{"s\u006b":"[redacted]"}`},
		{"look-alikes kept", `{"task":"risk=3","a":"sk","b":"S7","c":["sk","access_token"],"x_sk":"v"}`,
			`{"task":"risk=3","a":"sk","b":"S7","c":["sk","access_token"],"x_sk":"v"}`},
		{"truncated JSON, as text",
			`{"link":"https://x/s?access_token=T8","sk":"S8","data":[{"msgtype":"te`,
			`{"link":"https://x/s?access_token=[redacted]","sk":"[redacted]","data":[{"msgtype":"te`},
		{"cut inside a secret", `{"data":[],"SK" : "S9ab\"c`, `{"data":[],"SK" : "[redacted]`},
		{"form text", "access_token=T10&x=1\nsk=S10", "access_token=[redacted]&x=1\nsk=[redacted]"},
		{"not UTF-8", "\xff{\"sk\":\"S11\"}", "\xff{\"sk\":\"[redacted]\"}"},
		{"empty", "", ""},
	}
	for _, c := range cases {
		got := maskBody([]byte(c.in))
		if string(got) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
		if json.Valid([]byte(c.in)) && !json.Valid(got) {
			t.Errorf("%s: masked JSON is not valid: %s", c.name, got)
		}
	}
	// A body with nothing to mask is returned as it is, not copied.
	in := []byte(`{"cardTemplateId":"StandardCard","openConversationId":"cid1","outTrackId":"no-secret","robotCode":"robot1","cardData":"{\"cardParamMap\":{\"title\":\"t\"}}"}`)
	if got := maskBody(in); &got[0] != &in[0] {
		t.Error("a body without secrets was copied")
	}
}

func TestMaskLetterHeadersAndError(t *testing.T) {
	l := Letter{
		Error: `Post "https://x/robot/send?access_token=E1": boom`,
		Header: nats.Header{
			"X-Callback":    {"https://example.com/cb?access_token=H1&x=1", "plain"},
			"Sk":            {"H2"},
			"access_token":  {""},
			"Dingq-Job-Id":  {"job-1"},
			"X-Not-A-Query": {"desk=3"},
		},
		Data: []byte(`{"sk":"B1"}`),
	}
	m, changed := Mask(l)
	if !changed {
		t.Error("Mask reports nothing Masked")
	}
	want := nats.Header{
		"X-Callback":    {"https://example.com/cb?access_token=[redacted]&x=1", "plain"},
		"Sk":            {"[redacted]"},
		"access_token":  {""},
		"Dingq-Job-Id":  {"job-1"},
		"X-Not-A-Query": {"desk=3"},
	}
	for k, vs := range want {
		if strings.Join(m.Header[k], "|") != strings.Join(vs, "|") {
			t.Errorf("header %s = %q, want %q", k, m.Header[k], vs)
		}
	}
	if m.Error != `Post "https://x/robot/send?access_token=[redacted]": boom` || string(m.Data) != `{"sk":"[redacted]"}` {
		t.Errorf("error %q, body %s", m.Error, m.Data)
	}
	// The letter itself is untouched: the store's copy stays as it was.
	if l.Header.Get("Sk") != "H2" || !strings.Contains(l.Error, "E1") || string(l.Data) != `{"sk":"B1"}` {
		t.Errorf("Mask changed its argument: %+v", l)
	}
	if _, changed := Mask(Letter{Header: nats.Header{"A": {"b"}}, Data: []byte(`{}`)}); changed {
		t.Error("a letter without secrets reported as Masked")
	}
}

func TestTrimmedSaysWhatWasLeftOut(t *testing.T) {
	whole := Letter{Data: []byte("{}")}
	if len(whole.TrimMarks()) != 0 || len(whole.Trimmed()) != 0 {
		t.Errorf("a whole letter: marks %v, notes %v", whole.TrimMarks(), whole.Trimmed())
	}
	l := Letter{Data: []byte("{\"a\":"), Truncated: &Truncation{Length: 2000, SHA256: "ab12"},
		DroppedHeaders: []string{"X-Trace/Id"}, DroppedMore: 2}
	if got := strings.Join(l.TrimMarks(), "|"); got != "body truncated|headers dropped" {
		t.Errorf("marks %q", got)
	}
	notes := strings.Join(l.Trimmed(), "\n")
	for _, want := range []string{"only the first 5 of the job's 2000 bytes", "sha256 ab12", "cannot be replayed", `"X-Trace/Id", and 2 more`} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
}

func TestShorten(t *testing.T) {
	if got := Shorten("钉钉钉钉钉钉", 5); got != "钉钉..." {
		t.Errorf("shorten = %q", got)
	}
	if got := Shorten("short", 5); got != "short" {
		t.Errorf("shorten = %q", got)
	}
}
