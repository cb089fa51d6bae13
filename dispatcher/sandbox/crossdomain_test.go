package sandbox

import (
	"strings"
	"testing"

	"github.com/dingq/dingq/schema"
)

func TestCrossDomainChecks(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.appToken()
	without := func(field string) string { return wrap(strings.Replace(crossDomainModel, field, ``, 1)) }
	for _, tc := range []struct{ name, body string }{
		{"not JSON", `{"crossdomain_message_send_model":`},
		{"no model", `{"sender":"1001@domain"}`},
		{"null model", `{"crossdomain_message_send_model":null}`},
		{"unwrapped model", crossDomainModel},
		{"model not an object", `{"crossdomain_message_send_model":"x"}`},
		{"no sender", without(`"sender":"1001@domain",`)},
		{"no message_id", without(`"message_id":"msg-1",`)},
		{"no send_message_model", wrap(`{"sender":"s","message_id":"m"}`)},
		{"no conversation_type", without(`"conversation_type":1,`)},
		{"no uuid", without(`"uuid":"u-1",`)},
		{"no content_type", without(`"content_type":1,`)},
		{"no content", without(`"content":"{\"content\":\"test\"}",`)},
		{"no cid", without(`,"cid":"1011@domain:@domain$1@G"`)},
		{"content not JSON", wrap(strings.Replace(crossDomainModel, `"{\"content\":\"test\"}"`, `"hi"`, 1))},
	} {
		r := e.send(schema.KindCrossDomain, tok, tc.body)
		if r.status != 200 || r.json["errcode"] != 40035.0 || keys(r.json) != "errcode,errmsg,request_id" {
			t.Errorf("%s: %d %s, want 200 errcode 40035", tc.name, r.status, r.raw)
		}
	}
	if len(e.sb.Deliveries()) != 0 {
		t.Errorf("Deliveries = %+v, want none", e.sb.Deliveries())
	}
}
