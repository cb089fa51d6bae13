package sandbox

import (
	"cmp"
	"strings"
	"testing"

	"github.com/dingq/dingq/schema"
)

// wantAnswer is an expected failure answer: status and every JSON field; fields given as "*"
// must be present and non-empty strings (request ids, messages).
type wantAnswer struct {
	status int
	fields map[string]any
}

func (w wantAnswer) check(t *testing.T, what string, r reply) {
	t.Helper()
	if r.status != w.status {
		t.Errorf("%s: status %d, want %d (%s)", what, r.status, w.status, r.raw)
	}
	if len(r.json) != len(w.fields) {
		t.Errorf("%s: keys %s, want %d keys (%s)", what, keys(r.json), len(w.fields), r.raw)
	}
	for k, v := range w.fields {
		got, ok := r.json[k]
		if v == "*" {
			if s, _ := got.(string); s == "" {
				t.Errorf("%s: %q = %#v, want a non-empty string", what, k, got)
			}
			continue
		}
		if !ok || got != v {
			t.Errorf("%s: %q = %#v (%T), want %#v (%T)", what, k, got, got, v, v)
		}
	}
}

func TestPresets(t *testing.T) {
	for _, tc := range []struct {
		kind   schema.Kind
		preset string
		want   wantAnswer
	}{
		{schema.KindCard, PresetBusy, wantAnswer{500, map[string]any{"code": "systemBusy", "message": "*", "requestid": "*"}}},
		{schema.KindCard, PresetThrottle, wantAnswer{403, map[string]any{
			"Code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", "Message": "*", "RequestId": "*", "HostId": "api.dingtalk.com"}}},
		{schema.KindCard, PresetReject, wantAnswer{400, map[string]any{"code": "chatbotNotInstall", "message": "*", "requestid": "*"}}},
		{schema.KindCard, PresetToken, wantAnswer{400, map[string]any{"code": "InvalidAuthentication", "message": "*", "requestid": "*"}}},

		{schema.KindCrossDomain, PresetBusy, wantAnswer{200, map[string]any{"errcode": -1.0, "errmsg": "系统繁忙", "request_id": "*"}}},
		{schema.KindCrossDomain, PresetThrottle, wantAnswer{200, map[string]any{
			"errcode": 88.0, "sub_code": "90018", "errmsg": "*", "sub_msg": "*", "request_id": "*"}}},
		{schema.KindCrossDomain, PresetReject, wantAnswer{200, map[string]any{"errcode": 40035.0, "errmsg": "*", "request_id": "*"}}},
		{schema.KindCrossDomain, PresetToken, wantAnswer{200, map[string]any{
			"errcode": 88.0, "sub_code": "40014", "errmsg": "*", "sub_msg": "*", "request_id": "*"}}},

		{schema.KindRobot, PresetBusy, wantAnswer{503, map[string]any{"code": 503.0, "msg": "*", "hint": "*"}}},
		{schema.KindRobot, PresetThrottle, wantAnswer{429, map[string]any{"code": 429.0, "msg": "*", "hint": "*"}}},
		{schema.KindRobot, PresetReject, wantAnswer{200, map[string]any{"code": 400001.0, "msg": "*", "hint": "*"}}},
		{schema.KindRobot, PresetToken, wantAnswer{401, map[string]any{"code": 401.0, "msg": "*", "hint": "*"}}},
	} {
		t.Run(string(tc.kind)+"/"+tc.preset, func(t *testing.T) {
			e := newEnv(t, Config{})
			if err := e.sb.AddFault(Fault{Kind: tc.kind, Preset: tc.preset}); err != nil {
				t.Fatal(err)
			}
			r := e.send(tc.kind, e.tokenFor(tc.kind), validBody(tc.kind))
			tc.want.check(t, tc.preset, r)
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			if len(e.sb.Deliveries()) != 0 || e.sb.Stats().Outcomes[tc.kind][OutcomeFault] != 1 {
				t.Errorf("a faulted send was delivered, or not counted as a fault: %+v", e.sb.Stats())
			}
		})
	}
}

func TestPresetHTML(t *testing.T) {
	e := newEnv(t, Config{})
	for _, kind := range schema.Kinds() {
		for _, status := range []int{0, 200} {
			e.sb.ClearFaults()
			if err := e.sb.AddFault(Fault{Preset: PresetHTML, Status: status}); err != nil {
				t.Fatal(err)
			}
			r := e.send(kind, e.tokenFor(kind), validBody(kind))
			want := cmp.Or(status, 403)
			if r.status != want || r.json != nil || !strings.HasPrefix(r.raw, "<!DOCTYPE html>") ||
				!strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
				t.Errorf("%s html (status %d): %d %q %q", kind, status, r.status, r.header.Get("Content-Type"), r.raw)
			}
		}
	}
}

func TestFaultCodeAndStatus(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault Fault
		want  wantAnswer
	}{
		{"card code", Fault{Kind: schema.KindCard, Code: "cardTemplateInvalid"},
			wantAnswer{400, map[string]any{"code": "cardTemplateInvalid", "message": "*", "requestid": "*"}}},
		{"card status", Fault{Kind: schema.KindCard, Code: "unknownError", Status: 502},
			wantAnswer{502, map[string]any{"code": "unknownError", "message": "*", "requestid": "*"}}},
		{"card busy recoded", Fault{Kind: schema.KindCard, Preset: PresetBusy, Code: "system.busy", Status: 429},
			wantAnswer{429, map[string]any{"code": "system.busy", "message": "*", "requestid": "*"}}},
		{"card reject code", Fault{Kind: schema.KindCard, Preset: PresetReject, Code: "userNotExist"},
			wantAnswer{400, map[string]any{"code": "userNotExist", "message": "*", "requestid": "*"}}},
		{"crossdomain errcode", Fault{Kind: schema.KindCrossDomain, Code: "90020"},
			wantAnswer{200, map[string]any{"errcode": 90020.0, "errmsg": "*", "request_id": "*"}}},
		{"crossdomain sub_code", Fault{Kind: schema.KindCrossDomain, Code: "88/60011"},
			wantAnswer{200, map[string]any{"errcode": 88.0, "sub_code": "60011", "errmsg": "*", "sub_msg": "*", "request_id": "*"}}},
		{"crossdomain token recoded", Fault{Kind: schema.KindCrossDomain, Preset: PresetToken, Code: "42001"},
			wantAnswer{200, map[string]any{"errcode": 42001.0, "errmsg": "*", "request_id": "*"}}},
		{"robot code", Fault{Kind: schema.KindRobot, Code: "500123"},
			wantAnswer{200, map[string]any{"code": 500123.0, "msg": "*", "hint": "*"}}},
		{"robot reject code", Fault{Kind: schema.KindRobot, Preset: PresetReject, Code: "400002", Status: 400},
			wantAnswer{400, map[string]any{"code": 400002.0, "msg": "*", "hint": "*"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			if err := e.sb.AddFault(tc.fault); err != nil {
				t.Fatal(err)
			}
			k := tc.fault.Kind
			tc.want.check(t, tc.name, e.send(k, e.tokenFor(k), validBody(k)))
		})
	}
}

func TestFaultTimes(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.appToken()
	if err := e.sb.AddFault(Fault{Kind: schema.KindCard, Preset: PresetBusy, Times: 2}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{500, 500, 200, 200} {
		if r := e.send(schema.KindCard, tok, cardBody); r.status != want {
			t.Errorf("send %d: %d %s, want %d", i+1, r.status, r.raw, want)
		}
		if i == 0 {
			if fs := e.sb.Faults(); len(fs) != 1 || fs[0].Times != 1 {
				t.Errorf("after one hit Faults() = %+v, want one with Times 1 left", fs)
			}
		}
	}
	if fs := e.sb.Faults(); len(fs) != 0 {
		t.Errorf("a spent fault is still active: %+v", fs)
	}
	if e.sb.DeliveryCount(cardKey) != 2 || e.sb.Requests(schema.KindCard) != 4 {
		t.Errorf("DeliveryCount %d, Requests %d; want 2 and 4", e.sb.DeliveryCount(cardKey), e.sb.Requests(schema.KindCard))
	}
}

func TestFaultMatching(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.appToken()
	other := strings.Replace(cardBody, "track-1", "track-2", 1)
	must(t, e.sb.AddFault(Fault{Contains: `"track-2"`, Preset: PresetReject}))
	must(t, e.sb.AddFault(Fault{Kind: schema.KindRobot, Preset: PresetThrottle}))
	must(t, e.sb.AddFault(Fault{Kind: schema.KindRobot, Preset: PresetBusy})) // shadowed: the first match wins

	if r := e.send(schema.KindCard, tok, cardBody); r.status != 200 {
		t.Errorf("card without the substring: %d %s", r.status, r.raw)
	}
	if r := e.send(schema.KindCard, tok, other); r.json["code"] != "chatbotNotInstall" {
		t.Errorf("card with the substring: %d %s", r.status, r.raw)
	}
	if r := e.send(schema.KindCrossDomain, tok, wrap(crossDomainModel)); r.json["errcode"] != 0.0 {
		t.Errorf("crossdomain, matched by no fault: %s", r.raw)
	}
	if r := e.send(schema.KindRobot, "k", robotBody); r.status != 429 {
		t.Errorf("robot: %d %s, want the first matching fault's 429", r.status, r.raw)
	}
	e.sb.ClearFaults()
	if r := e.send(schema.KindCard, tok, other); r.status != 200 {
		t.Errorf("after ClearFaults: %d %s", r.status, r.raw)
	}
}

func TestFaultTokenPresetThenRefresh(t *testing.T) {
	e := newEnv(t, Config{})
	must(t, e.sb.AddFault(Fault{Kind: schema.KindCard, Preset: PresetToken, Times: 1}))
	tok := e.appToken()
	if r := e.send(schema.KindCard, tok, cardBody); r.json["code"] != "InvalidAuthentication" {
		t.Errorf("first send: %s", r.raw)
	}
	if r := e.send(schema.KindCard, tok, cardBody); r.status != 200 {
		t.Errorf("second send: %d %s", r.status, r.raw)
	}
}

func TestAddFaultRefuses(t *testing.T) {
	sb, err := New(Config{})
	must(t, err)
	for name, f := range map[string]Fault{
		"unknown preset":             {Preset: "explode"},
		"no preset, no code":         {Kind: schema.KindCard},
		"unknown kind":               {Kind: "fax", Preset: PresetBusy},
		"crossdomain word code":      {Kind: schema.KindCrossDomain, Code: "systemBusy"},
		"crossdomain empty sub_code": {Kind: schema.KindCrossDomain, Code: "88/"},
		"robot word code":            {Kind: schema.KindRobot, Code: "busy"},
		"robot sub_code":             {Kind: schema.KindRobot, Code: "88/60011"},
		"any kind with a word code":  {Code: "systemBusy"},
		"negative times":             {Preset: PresetBusy, Times: -1},
		"not a status":               {Preset: PresetBusy, Status: 42},
		"negative delay":             {Preset: PresetBusy, Delay: -1},
		"any kind with a sub_code":   {Code: "88/60011"},
		"status above 599":           {Kind: schema.KindCard, Preset: PresetBusy, Status: 1000},
	} {
		if err := sb.AddFault(f); err == nil {
			t.Errorf("%s: AddFault(%+v) = nil, want an error", name, f)
		}
	}
	if fs := sb.Faults(); len(fs) != 0 {
		t.Errorf("refused faults were added: %+v", fs)
	}
	must(t, sb.AddFault(Fault{Code: "40035"})) // a number every kind renders
	must(t, sb.AddFault(Fault{Kind: schema.KindCard, Code: "88/60011"}))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
