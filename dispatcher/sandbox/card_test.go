package sandbox

import (
	"strings"
	"testing"

	"github.com/dingq/dingq/schema"
)

func TestCardChecks(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.appToken()
	for _, tc := range []struct {
		name, body, code string
	}{
		{"not JSON", `{"cardTemplateId":`, "invalidParameter"},
		{"an array", `[]`, "invalidParameter"},
		{"cardData an object", strings.Replace(cardBody, `"{\"cardParamMap\":{\"title\":\"hello\"}}"`, `{}`, 1), "invalidParameter"},
		{"cardData not JSON", strings.Replace(cardBody, `"{\"cardParamMap\":{\"title\":\"hello\"}}"`, `"{oops"`, 1), "invalidParameter"},
		{"no cardTemplateId", strings.Replace(cardBody, `"cardTemplateId":"StandardCard",`, ``, 1), "paramBlank"},
		{"no outTrackId", strings.Replace(cardBody, `"outTrackId":"track-1",`, ``, 1), "paramBlank"},
		{"no robotCode", strings.Replace(cardBody, `"robotCode":"robot-1",`, ``, 1), "paramBlank"},
		{"blank cardData", strings.Replace(cardBody, `"{\"cardParamMap\":{\"title\":\"hello\"}}"`, `""`, 1), "paramBlank"},
		{"no receiver", strings.Replace(cardBody, `"openConversationId":"cid123",`, ``, 1), "paramBlank"},
		{"bad singleChatReceiver", strings.Replace(cardBody, `"openConversationId":"cid123"`, `"singleChatReceiver":"u1"`, 1), "invalidParameter"},
		{"long outTrackId", strings.Replace(cardBody, `track-1`, strings.Repeat("t", 65), 1), "outTrackIdLengthLimited"},
	} {
		r := e.send(schema.KindCard, tok, tc.body)
		if r.status != 400 || r.json["code"] != tc.code || keys(r.json) != "code,message,requestid" {
			t.Errorf("%s: %d %s, want 400 %s", tc.name, r.status, r.raw, tc.code)
		}
	}
	if n := e.sb.Stats().Outcomes[schema.KindCard][OutcomeRejected]; n != 11 || len(e.sb.Deliveries()) != 0 {
		t.Errorf("rejected = %d, deliveries %d; want 11 and 0", n, len(e.sb.Deliveries()))
	}

	single := strings.Replace(cardBody, `"openConversationId":"cid123"`, `"singleChatReceiver":"{\"unionId\":\"un-1\"}"`, 1)
	if r := e.send(schema.KindCard, tok, single); r.status != 200 {
		t.Errorf("singleChatReceiver: %d %s, want 200", r.status, r.raw)
	}
}
