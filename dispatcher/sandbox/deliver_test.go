package sandbox

import (
	"strings"
	"testing"

	"github.com/dingq/dingq/schema"
)

// deliverBody is a createAndDeliver body that passes every check, recorded under its outTrackId.
const deliverBody = `{"cardTemplateId":"t.schema","outTrackId":"track-d1","openSpaceId":"dtv1.card//IM_GROUP.cid1",` +
	`"cardData":{"cardParamMap":{"title":"hello"}},"imGroupOpenDeliverModel":{"robotCode":"robot-1"}}`

// deliver posts body to createAndDeliver with token in the header (none when empty).
func (e *env) deliver(token, body string) reply {
	e.t.Helper()
	req := e.request("POST", deliverPath, body)
	if token != "" {
		req.Header.Set("x-acs-dingtalk-access-token", token)
	}
	return e.do(req)
}

// results returns an answer's deliverResults.
func results(t *testing.T, r reply) []map[string]any {
	t.Helper()
	result, _ := r.json["result"].(map[string]any)
	list, _ := result["deliverResults"].([]any)
	out := make([]map[string]any, len(list))
	for i, x := range list {
		out[i], _ = x.(map[string]any)
	}
	return out
}

func TestDeliverDelivers(t *testing.T) {
	e := newEnv(t, Config{RecordBodies: true})
	r := e.deliver(e.appToken(), deliverBody)
	if r.status != 200 || r.json["success"] != true || keys(r.json) != "result,success" {
		t.Fatalf("deliver: %d %s, want 200 success", r.status, r.raw)
	}
	if result := r.json["result"].(map[string]any); result["outTrackId"] != "track-d1" {
		t.Errorf("result %v, want outTrackId track-d1", result)
	}
	res := results(t, r)
	if len(res) != 1 || res[0]["spaceType"] != "IM_GROUP" || res[0]["spaceId"] != "cid1" || res[0]["success"] != true ||
		res[0]["errorMsg"] != "" || res[0]["carrierId"] == "" {
		t.Errorf("deliverResults %v, want one delivered IM_GROUP cid1", res)
	}
	ds := e.sb.Deliveries()
	if len(ds) != 1 || ds[0].Kind != schema.KindCard || ds[0].Key != "track-d1" || string(ds[0].Body) != deliverBody {
		t.Fatalf("Deliveries = %+v, want one card keyed track-d1 with the body", ds)
	}
	st := e.sb.Stats()
	if st.Requests[schema.KindCard] != 1 || st.Outcomes[schema.KindCard][OutcomeDelivered] != 1 {
		t.Errorf("Stats = %+v, want one delivered card", st)
	}
}

func TestDeliverSpaces(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.appToken()
	body := strings.Replace(deliverBody, "IM_GROUP.cid1", "im_group.cid1;IM_ROBOT.user.with.dots", 1)
	r := e.deliver(tok, body)
	res := results(t, r)
	if r.status != 200 || len(res) != 2 || res[0]["spaceType"] != "IM_GROUP" || res[1]["spaceType"] != "IM_ROBOT" ||
		res[1]["spaceId"] != "user.with.dots" || res[0]["success"] != true || res[1]["success"] != true {
		t.Errorf("two spaces: %d %s", r.status, r.raw)
	}

	// One space fails: the answer says success, the card is delivered (to the other space).
	partial := strings.Replace(deliverBody, "IM_GROUP.cid1", "IM_GROUP.cid1;IM_GROUP."+FailSpacePrefix+"-1", 1)
	r = e.deliver(tok, partial)
	res = results(t, r)
	if r.status != 200 || r.json["success"] != true || len(res) != 2 || res[0]["success"] != true ||
		res[1]["success"] != false || res[1]["errorMsg"] == "" {
		t.Errorf("one failed space: %d %s", r.status, r.raw)
	}
	// Every space fails: the same form, and nothing delivered.
	none := strings.Replace(deliverBody, "IM_GROUP.cid1", "IM_GROUP."+FailSpacePrefix, 1)
	none = strings.Replace(none, "track-d1", "track-none", 1)
	r = e.deliver(tok, none)
	if res = results(t, r); r.status != 200 || r.json["success"] != true || len(res) != 1 || res[0]["success"] != false {
		t.Errorf("every space failed: %d %s", r.status, r.raw)
	}
	if n := e.sb.DeliveryCount("track-none"); n != 0 {
		t.Errorf("a card that reached no space was recorded %d times", n)
	}
	if o := e.sb.Stats().Outcomes[schema.KindCard]; o[OutcomeDelivered] != 2 || o[OutcomeRejected] != 1 {
		t.Errorf("outcomes %v, want 2 delivered and 1 rejected", o)
	}
}

func TestDeliverChecks(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.appToken()
	for _, tc := range []struct {
		name, body, code string
	}{
		{"not JSON", `{"cardTemplateId":`, "invalidParameter"},
		{"no cardTemplateId", strings.Replace(deliverBody, `"cardTemplateId":"t.schema",`, ``, 1), "param.cardTemplateIdEmpty"},
		{"no outTrackId", strings.Replace(deliverBody, `"outTrackId":"track-d1",`, ``, 1), "param.outTrackIdEmpty"},
		{"long outTrackId", strings.Replace(deliverBody, `track-d1`, strings.Repeat("t", 65), 1), "outTrackIdLengthLimited"},
		{"cardData a string", strings.Replace(deliverBody, `{"cardParamMap":{"title":"hello"}}`, `"{\"cardParamMap\":{}}"`, 1), "param.cardPublicDataEmpty"},
		{"no cardParamMap", strings.Replace(deliverBody, `{"cardParamMap":{"title":"hello"}}`, `{}`, 1), "param.cardPublicDataEmpty"},
		{"no openSpaceId", strings.Replace(deliverBody, `"openSpaceId":"dtv1.card//IM_GROUP.cid1",`, ``, 1), "invalidParameter.openSpaceId"},
		{"openSpaceId without prefix", strings.Replace(deliverBody, `dtv1.card//IM_GROUP.cid1`, `IM_GROUP.cid1`, 1), "invalidParameter.openSpaceId"},
		{"openSpaceId without space id", strings.Replace(deliverBody, `IM_GROUP.cid1`, `IM_GROUP`, 1), "invalidParameter.openSpaceId"},
		{"openSpaceId trailing separator", strings.Replace(deliverBody, `IM_GROUP.cid1`, `IM_GROUP.cid1;`, 1), "invalidParameter.openSpaceId"},
	} {
		r := e.deliver(tok, tc.body)
		if r.status != 400 || r.json["code"] != tc.code || keys(r.json) != "code,message,requestid" {
			t.Errorf("%s: %d %s, want 400 %s", tc.name, r.status, r.raw, tc.code)
		}
	}
	if n := e.sb.Stats().Outcomes[schema.KindCard][OutcomeRejected]; n != 10 || len(e.sb.Deliveries()) != 0 {
		t.Errorf("rejected = %d, deliveries %d; want 10 and 0", n, len(e.sb.Deliveries()))
	}
}

func TestDeliverToken(t *testing.T) {
	e := newEnv(t, Config{})
	for _, tok := range []string{"", "not-issued"} {
		if r := e.deliver(tok, deliverBody); r.status != 400 || r.json["code"] != "InvalidAuthentication" {
			t.Errorf("token %q: %d %s, want 400 InvalidAuthentication", tok, r.status, r.raw)
		}
	}
	tok := e.appToken()
	e.sb.ExpireTokens()
	if r := e.deliver(tok, deliverBody); r.status != 400 || r.json["code"] != "InvalidAuthentication" {
		t.Errorf("expired token: %d %s, want 400 InvalidAuthentication", r.status, r.raw)
	}
	if r := e.deliver(e.appToken(), deliverBody); r.status != 200 {
		t.Errorf("fresh token: %d %s, want 200", r.status, r.raw)
	}
}

// Faults of kind card reach createAndDeliver, in the card API's own forms.
func TestDeliverFaults(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.appToken()
	if err := e.sb.AddFault(Fault{Kind: schema.KindCard, Contains: `"openSpaceId"`, Preset: PresetThrottle, Times: 1}); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.AddFault(Fault{Kind: schema.KindCard, Contains: `IM_GROUP.cid1`, Code: "param.openSpaceModelInvalid", Times: 1}); err != nil {
		t.Fatal(err)
	}
	if r := e.send(schema.KindCard, tok, cardBody); r.status != 200 {
		t.Errorf("template send, untouched by the faults: %d %s", r.status, r.raw)
	}
	if r := e.deliver(tok, deliverBody); r.status != 403 || r.json["Code"] != "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi" {
		t.Errorf("throttle fault: %d %s", r.status, r.raw)
	}
	if r := e.deliver(tok, deliverBody); r.status != 400 || r.json["code"] != "param.openSpaceModelInvalid" {
		t.Errorf("code fault: %d %s", r.status, r.raw)
	}
	if r := e.deliver(tok, deliverBody); r.status != 200 {
		t.Errorf("faults spent: %d %s", r.status, r.raw)
	}
	if n := e.sb.Stats().Outcomes[schema.KindCard][OutcomeFault]; n != 2 {
		t.Errorf("fault outcomes %d, want 2", n)
	}
}
