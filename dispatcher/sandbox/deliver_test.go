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

// withMembers is deliverBody with members (`"name":value` pairs, comma-separated) added.
func withMembers(members string) string {
	return strings.TrimSuffix(deliverBody, "}") + "," + members + "}"
}

func TestDeliverSpaces(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.appToken()
	body := strings.Replace(withMembers(`"imRobotOpenDeliverModel":{"spaceType":"IM_ROBOT"}`), "IM_GROUP.cid1", "im_group.cid1;IM_ROBOT.user.with.dots", 1)
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
	without := func(member string) string { return strings.Replace(deliverBody, member, ``, 1) }
	cardData := `{"cardParamMap":{"title":"hello"}}`
	for _, tc := range []struct {
		name, body, code string
	}{
		{"empty body", ``, "param.empty"},
		{"empty object", `{}`, "param.empty"},
		{"not JSON", `{"cardTemplateId":`, "param.invalid"},
		{"an array", `[]`, "param.invalid"},
		{"cardTemplateId a number", strings.Replace(deliverBody, `"t.schema"`, `7`, 1), "param.invalid"},
		{"no cardTemplateId", without(`"cardTemplateId":"t.schema",`), "param.cardTemplateIdEmpty"},
		{"no outTrackId", without(`"outTrackId":"track-d1",`), "param.outTrackIdEmpty"},
		{"long outTrackId", strings.Replace(deliverBody, `track-d1`, strings.Repeat("t", 65), 1), "outTrackIdLengthLimited"},
		{"no openSpaceId", without(`"openSpaceId":"dtv1.card//IM_GROUP.cid1",`), "param.openSpaceIdEmpty"},
		{"openSpaceId without prefix", strings.Replace(deliverBody, `dtv1.card//IM_GROUP.cid1`, `IM_GROUP.cid1`, 1), "param.openSpaceIdInvalid"},
		{"openSpaceId without space id", strings.Replace(deliverBody, `IM_GROUP.cid1`, `IM_GROUP`, 1), "param.openSpaceIdInvalid"},
		{"openSpaceId trailing separator", strings.Replace(deliverBody, `IM_GROUP.cid1`, `IM_GROUP.cid1;`, 1), "param.openSpaceIdInvalid"},
		{"unknown space type", strings.Replace(deliverBody, `IM_GROUP.cid1`, `IM_GROUP.cid1;FAX.f1`, 1), "param.openSpaceIdInvalid"},
		{"no cardData", without(`"cardData":` + cardData + `,`), "param.cardPublicDataEmpty"},
		{"cardData a string", strings.Replace(deliverBody, cardData, `"{\"cardParamMap\":{}}"`, 1), "param.cardPublicDataEmpty"},
		{"no cardParamMap", strings.Replace(deliverBody, cardData, `{}`, 1), "param.cardPublicDataEmpty"},
		{"cardParamMap of numbers", strings.Replace(deliverBody, `"hello"`, `1`, 1), "param.cardPublicDataEmpty"},
		{"callbackType in lower case", withMembers(`"callbackType":"stream"`), "param.invalid"},
		{"callbackType unknown", withMembers(`"callbackType":"MQ"`), "param.invalid"},
		{"userIdType 3", withMembers(`"userIdType":3`), "param.invalid"},
		{"userIdType a string", withMembers(`"userIdType":"1"`), "param.invalid"},
		{"privateData not per user", withMembers(`"privateData":{"u1":"x"}`), "param.invalid"},
		{"no deliver model", without(`,"imGroupOpenDeliverModel":{"robotCode":"robot-1"}`), "param.openDeliverModelEmpty"},
		{"null deliver model", strings.Replace(deliverBody, `{"robotCode":"robot-1"}`, `null`, 1), "param.openDeliverModelEmpty"},
		{"another space's deliver model", strings.Replace(deliverBody, `imGroupOpenDeliverModel`, `imRobotOpenDeliverModel`, 1), "param.openDeliverModelEmpty"},
		{"group model without robotCode", strings.Replace(deliverBody, `{"robotCode":"robot-1"}`, `{}`, 1), "param.openDeliverModelError"},
		{"group model not an object", strings.Replace(deliverBody, `{"robotCode":"robot-1"}`, `"robot-1"`, 1), "param.openDeliverModelError"},
		{"group model's recipients a string", strings.Replace(deliverBody, `"robot-1"}`, `"robot-1","recipients":"u1"}`, 1), "param.openDeliverModelError"},
		{"group space model not an object", withMembers(`"imGroupOpenSpaceModel":true`), "param.openSpaceModelInvalid"},
		{"group space model's supportForward a string", withMembers(`"imGroupOpenSpaceModel":{"supportForward":"yes"}`), "param.openSpaceModelInvalid"},
	} {
		r := e.deliver(tok, tc.body)
		want := "code,message,requestid"
		if r.status != 400 || r.json["code"] != tc.code || keys(r.json) != want {
			t.Errorf("%s: %d %s, want 400 %s", tc.name, r.status, r.raw, tc.code)
		}
		// DingTalk's messages for createAndDeliver are its codes.
		if code, _ := r.json["code"].(string); strings.HasPrefix(code, "param.") && r.json["message"] != code {
			t.Errorf("%s: message %q, want the code %q", tc.name, r.json["message"], code)
		}
	}
	if n := e.sb.Stats().Outcomes[schema.KindCard][OutcomeRejected]; n != 30 || len(e.sb.Deliveries()) != 0 {
		t.Errorf("rejected = %d, deliveries %d; want 30 and 0", n, len(e.sb.Deliveries()))
	}
}

// Each space type wants its own deliver model (and ONE_BOX its open space model), filled as
// DingTalk requires; the optional members pass when well formed.
func TestDeliverSpaceModels(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.appToken()
	body := func(spaces, models string) string {
		return `{"cardTemplateId":"t.schema","outTrackId":"track-m","openSpaceId":"dtv1.card//` + spaces + `",` +
			`"cardData":{"cardParamMap":{"title":"hello"}}` + models + `}`
	}
	const (
		group  = `,"imGroupOpenDeliverModel":{"robotCode":"robot-1","atUserIds":{"u1":"Ann"},"recipients":["u1"],"extension":{"k":"v"}}`
		robot  = `,"imRobotOpenDeliverModel":{"spaceType":"IM_ROBOT","robotCode":"robot-1"}`
		single = `,"imSingleOpenDeliverModel":{}`
		top    = `,"topOpenDeliverModel":{"expiredTimeMillis":1665473229000,"platforms":["android"]},"topOpenSpaceModel":{"spaceType":"ONE_BOX"}`
	)
	for _, tc := range []struct {
		name, spaces, models, code string // code "" for delivered
	}{
		{"group", "IM_GROUP.cid1", group, ""},
		{"group with its space model and options", "IM_GROUP.cid1", group + `,"imGroupOpenSpaceModel":{"supportForward":true,` +
			`"lastMessageI18n":{"ZH_CN":"卡片"},"notification":{"alertContent":"hi","notificationOff":false}},` +
			`"callbackType":"STREAM","userIdType":1,"privateData":{"u1":{"cardParamMap":{"title":"yours"}}}`, ""},
		{"robot chat", "IM_ROBOT.u1", robot, ""},
		{"robot chat, robotCode only", "IM_ROBOT.u1", `,"imRobotOpenDeliverModel":{"robotCode":"robot-1"}`, ""},
		{"robot chat, empty model", "IM_ROBOT.u1", `,"imRobotOpenDeliverModel":{}`, "param.openDeliverModelEmpty"},
		{"robot chat, the group's spaceType", "IM_ROBOT.u1", `,"imRobotOpenDeliverModel":{"spaceType":"IM_GROUP"}`, "param.openDeliverModelError"},
		{"robot chat, the group's model", "IM_ROBOT.u1", group, "param.openDeliverModelEmpty"},
		{"single chat", "IM_SINGLE.cid2", single, ""},
		{"single chat without its model", "IM_SINGLE.cid2", group, "param.openDeliverModelEmpty"},
		{"top bar", "ONE_BOX.cid1", top, ""},
		{"top bar without expiry", "ONE_BOX.cid1", strings.Replace(top, `"expiredTimeMillis":1665473229000,`, ``, 1), "param.openDeliverModelError"},
		{"top bar without its space model", "ONE_BOX.cid1", strings.Replace(top, `,"topOpenSpaceModel":{"spaceType":"ONE_BOX"}`, ``, 1), "param.openSpaceModelInvalid"},
		{"top bar of another spaceType", "ONE_BOX.cid1", strings.Replace(top, `"spaceType":"ONE_BOX"`, `"spaceType":"IM_GROUP"`, 1), "param.openSpaceModelInvalid"},
		{"top bar without its deliver model", "ONE_BOX.cid1", `,"topOpenSpaceModel":{"spaceType":"ONE_BOX"}`, "param.openDeliverModelEmpty"},
		{"every space", "IM_GROUP.cid1;im_robot.u1;IM_SINGLE.cid2;ONE_BOX.cid1", group + robot + single + top, ""},
		{"every space but one model", "IM_GROUP.cid1;IM_ROBOT.u1;IM_SINGLE.cid2;ONE_BOX.cid1", group + robot + top, "param.openDeliverModelEmpty"},
		{"two groups, one model", "IM_GROUP.cid1;IM_GROUP.cid3", group, ""},
	} {
		r := e.deliver(tok, body(tc.spaces, tc.models))
		if tc.code == "" {
			if r.status != 200 || r.json["success"] != true || len(results(t, r)) != strings.Count(tc.spaces, ";")+1 {
				t.Errorf("%s: %d %s, want delivered", tc.name, r.status, r.raw)
			}
			continue
		}
		if r.status != 400 || r.json["code"] != tc.code || r.json["message"] != tc.code {
			t.Errorf("%s: %d %s, want 400 %s", tc.name, r.status, r.raw, tc.code)
		}
	}
}

func TestDeliverToken(t *testing.T) {
	e := newEnv(t, Config{})
	if r := e.deliver("", deliverBody); r.status != 400 || r.json["code"] != "AuthenticationFailed.MissingParameter" {
		t.Errorf("no token: %d %s, want 400 AuthenticationFailed.MissingParameter", r.status, r.raw)
	}
	if r := e.deliver("not-issued", deliverBody); r.status != 400 || r.json["code"] != "InvalidAuthentication" ||
		r.json["message"] != "不合法的access_token" {
		t.Errorf("token not issued: %d %s, want 400 InvalidAuthentication", r.status, r.raw)
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
