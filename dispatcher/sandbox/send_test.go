package sandbox

import (
	"strings"
	"testing"

	"github.com/dingq/dingq/schema"
)

func TestSendDelivers(t *testing.T) {
	for _, tc := range []struct {
		kind     schema.Kind
		key      string
		keyBody  string // what Delivery.Body holds
		wantKeys string // the success answer's keys
	}{
		{schema.KindCard, cardKey, cardBody, "processQueryKey"},
		{schema.KindCrossDomain, crossDomainKey, crossDomainModel, "errcode,errmsg,request_id"},
		{schema.KindRobot, schema.BodyHash([]byte(robotBody)), robotBody, "code,data"},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			e := newEnv(t, Config{RecordBodies: true})
			r := e.send(tc.kind, e.tokenFor(tc.kind), validBody(tc.kind))
			if r.status != 200 || keys(r.json) != tc.wantKeys {
				t.Fatalf("send: %d %s, want 200 with %s", r.status, r.raw, tc.wantKeys)
			}
			ds := e.sb.Deliveries()
			if len(ds) != 1 || ds[0].Kind != tc.kind || ds[0].Key != tc.key || ds[0].At.IsZero() {
				t.Fatalf("Deliveries = %+v, want one %s keyed %q", ds, tc.kind, tc.key)
			}
			if got := compact(t, string(ds[0].Body)); got != compact(t, tc.keyBody) {
				t.Errorf("Body = %s, want %s", got, tc.keyBody)
			}
			if n := e.sb.DeliveryCount(tc.key); n != 1 {
				t.Errorf("DeliveryCount = %d, want 1", n)
			}
			st := e.sb.Stats()
			if st.Requests[tc.kind] != 1 || st.Outcomes[tc.kind][OutcomeDelivered] != 1 || st.Deliveries[tc.kind] != 1 {
				t.Errorf("Stats = %+v", st)
			}
			if e.sb.Requests(tc.kind) != 1 {
				t.Errorf("Requests = %d, want 1", e.sb.Requests(tc.kind))
			}
		})
	}
}

func TestSendSuccessBodies(t *testing.T) {
	e := newEnv(t, Config{})
	if r := e.send(schema.KindCrossDomain, e.appToken(), wrap(crossDomainModel)); r.json["errcode"] != 0.0 || r.json["errmsg"] != "" {
		t.Errorf("crossdomain: %s, want errcode 0 and errmsg \"\"", r.raw)
	}
	if r := e.send(schema.KindRobot, "any", robotBody); r.raw != `{"code":0,"data":{}}` {
		t.Errorf("robot: %s", r.raw)
	}
}

func TestBodiesNotKeptByDefault(t *testing.T) {
	e := newEnv(t, Config{})
	e.send(schema.KindCard, e.appToken(), cardBody)
	if ds := e.sb.Deliveries(); len(ds) != 1 || ds[0].Body != nil {
		t.Errorf("Deliveries = %+v, want one without a body", ds)
	}
}

func TestMissingToken(t *testing.T) {
	e := newEnv(t, Config{KdocsToken: "kdocs-token"})
	for _, tc := range []struct {
		kind   schema.Kind
		token  string
		status int
		check  func(r reply) bool
	}{
		{schema.KindCard, "", 400, func(r reply) bool {
			return r.json["code"] == "AuthenticationFailed.MissingParameter" && r.json["message"] == "缺少参数：x-acs-dingtalk-access-token" &&
				keys(r.json) == "code,message,requestid"
		}},
		{schema.KindCard, "not-issued", 400, func(r reply) bool {
			return r.json["code"] == "InvalidAuthentication" && r.json["message"] == "不合法的access_token"
		}},
		{schema.KindCrossDomain, "", 200, func(r reply) bool {
			return r.json["errcode"] == 88.0 && r.json["sub_code"] == "40000" &&
				r.json["errmsg"] == "ding talk error[subcode=40000,submsg=access_token is blank]"
		}},
		{schema.KindCrossDomain, "not-issued", 200, func(r reply) bool { return r.json["errcode"] == 88.0 && r.json["sub_code"] == "40014" }},
		{schema.KindRobot, "", 401, func(r reply) bool { return r.json["code"] == 401.0 && keys(r.json) == "code,hint,msg" }},
		{schema.KindRobot, "wrong", 401, func(r reply) bool { return r.json["code"] == 401.0 }},
	} {
		r := e.send(tc.kind, tc.token, validBody(tc.kind))
		if r.status != tc.status || !tc.check(r) {
			t.Errorf("%s with token %q: %d %s", tc.kind, tc.token, r.status, r.raw)
		}
	}
	if ds := e.sb.Deliveries(); len(ds) != 0 {
		t.Errorf("Deliveries = %+v, want none", ds)
	}
	if r := e.send(schema.KindRobot, "kdocs-token", robotBody); r.status != 200 {
		t.Errorf("robot with the configured token: %d %s", r.status, r.raw)
	}
}

func TestUnknownPathAndMethod(t *testing.T) {
	e := newEnv(t, Config{})
	if r := e.do(e.request("POST", "/v1.0/nope", "{}")); r.status != 404 {
		t.Errorf("unknown path: %d", r.status)
	}
	if r := e.do(e.request("GET", "/v1.0/im/interactiveCards/templates/send", "")); r.status != 405 {
		t.Errorf("wrong method: %d", r.status)
	}
}

func TestBodyTooLarge(t *testing.T) {
	e := newEnv(t, Config{})
	big := `{"link":"x","data":[{"msgtype":"text","text":{"content":"` + strings.Repeat("a", maxBodyBytes) + `"}}]}`
	r := e.send(schema.KindRobot, "k", big)
	if r.status != 413 || r.json != nil {
		t.Errorf("a body above the limit: %d %.100s, want 413 and a page", r.status, r.raw)
	}
	if n := e.sb.Stats().Outcomes[schema.KindRobot][OutcomeRejected]; n != 1 {
		t.Errorf("rejected = %d, want 1", n)
	}
}
