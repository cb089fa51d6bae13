package sandbox

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dingq/dingq/schema"
)

func TestControlFaults(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.appToken()

	r := e.do(e.request("POST", "/_sandbox/faults", `{"kind":"card","contains":"track-1","times":1,"preset":"throttle","delay":"10ms"}`))
	if r.status != 201 || r.json["delay"] != "10ms" || r.json["times"] != 1.0 {
		t.Fatalf("add: %d %s", r.status, r.raw)
	}
	want := Fault{Kind: schema.KindCard, Contains: "track-1", Times: 1, Preset: PresetThrottle, Delay: 10 * time.Millisecond}
	if fs := e.sb.Faults(); len(fs) != 1 || fs[0] != want {
		t.Fatalf("Faults() = %+v, want [%+v]", fs, want)
	}
	list := e.do(e.request("GET", "/_sandbox/faults", ""))
	if list.status != 200 || !strings.Contains(list.raw, `"preset":"throttle"`) {
		t.Errorf("list: %d %s", list.status, list.raw)
	}
	if r := e.send(schema.KindCard, tok, cardBody); r.status != 403 {
		t.Errorf("send under the fault: %d %s", r.status, r.raw)
	}

	must(t, e.sb.AddFault(Fault{Preset: PresetBusy}))
	if r := e.do(e.request("DELETE", "/_sandbox/faults", "")); r.status != 204 {
		t.Errorf("delete: %d %s", r.status, r.raw)
	}
	if fs := e.sb.Faults(); len(fs) != 0 {
		t.Errorf("after DELETE Faults() = %+v", fs)
	}
	if r := e.do(e.request("GET", "/_sandbox/faults", "")); r.raw != "[]" {
		t.Errorf("empty list: %s", r.raw)
	}

	for _, bad := range []string{
		`{"preset":"explode"}`,
		`{"preset":"busy","delay":"soon"}`,
		`{"preset":"busy","colour":"red"}`,
		`{"kind":"robot","code":"abc"}`,
		`not json`,
	} {
		if r := e.do(e.request("POST", "/_sandbox/faults", bad)); r.status != 400 || r.json["error"] == nil {
			t.Errorf("add %s: %d %s, want 400 with an error", bad, r.status, r.raw)
		}
	}
}

func TestControlExpireTokens(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.appToken()
	if r := e.do(e.request("POST", "/_sandbox/tokens/expire", "")); r.status != 204 {
		t.Fatalf("expire: %d %s", r.status, r.raw)
	}
	if r := e.send(schema.KindCard, tok, cardBody); r.json["code"] != "InvalidAuthentication" {
		t.Errorf("send with the expired token: %d %s", r.status, r.raw)
	}
}

func TestControlStatsAndDeliveries(t *testing.T) {
	e := newEnv(t, Config{RecordBodies: true})
	tok := e.appToken()
	e.send(schema.KindCard, tok, cardBody)
	e.send(schema.KindCard, "", cardBody)
	e.send(schema.KindCrossDomain, tok, wrap(crossDomainModel))
	e.send(schema.KindRobot, "k", robotBody)

	r := e.do(e.request("GET", "/_sandbox/stats", ""))
	var st Stats
	if err := json.Unmarshal([]byte(r.raw), &st); err != nil || r.status != 200 {
		t.Fatalf("stats: %d %s (%v)", r.status, r.raw, err)
	}
	if st.Requests[schema.KindCard] != 2 || st.Outcomes[schema.KindCard][OutcomeTokenInvalid] != 1 ||
		st.Deliveries[schema.KindCrossDomain] != 1 || st.TokenFetches != 1 {
		t.Errorf("stats = %s", r.raw)
	}

	r = e.do(e.request("GET", "/_sandbox/deliveries?kind=card", ""))
	var ds []map[string]any
	if err := json.Unmarshal([]byte(r.raw), &ds); err != nil || r.status != 200 {
		t.Fatalf("deliveries: %d %s (%v)", r.status, r.raw, err)
	}
	if len(ds) != 1 || ds[0]["kind"] != "card" || ds[0]["key"] != cardKey || keys(ds[0]) != "at,key,kind" {
		t.Errorf("card deliveries = %s", r.raw)
	}
	all := e.do(e.request("GET", "/_sandbox/deliveries", ""))
	if err := json.Unmarshal([]byte(all.raw), &ds); err != nil || len(ds) != 3 {
		t.Errorf("all deliveries = %s", all.raw)
	}
	for _, secret := range []string{"SECrobotsigningsecret", "robot-webhook-token", "cardParamMap"} {
		if strings.Contains(all.raw, secret) {
			t.Errorf("deliveries show %q: %s", secret, all.raw)
		}
	}
	if r := e.do(e.request("GET", "/_sandbox/deliveries?kind=fax", "")); r.status != 400 {
		t.Errorf("unknown kind: %d %s", r.status, r.raw)
	}
}
