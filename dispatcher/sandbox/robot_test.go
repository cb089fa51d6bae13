package sandbox

import (
	"testing"

	"github.com/dingq/dingq/schema"
)

func TestRobotChecks(t *testing.T) {
	e := newEnv(t, Config{})
	for _, tc := range []struct{ name, body string }{
		{"not JSON", `{"link":`},
		{"no link", `{"data":[{"msgtype":"text","text":{"content":"hi"}}]}`},
		{"no data", `{"link":"https://oapi.dingtalk.com/robot/send?access_token=t"}`},
		{"empty data", `{"link":"https://oapi.dingtalk.com/robot/send?access_token=t","data":[]}`},
		{"no msgtype", `{"link":"https://oapi.dingtalk.com/robot/send?access_token=t","data":[{"text":{"content":"hi"}}]}`},
	} {
		r := e.send(schema.KindRobot, "kdocs-token", tc.body)
		if r.status != 200 || r.json["code"] != 400001.0 || keys(r.json) != "code,hint,msg" {
			t.Errorf("%s: %d %s, want 200 code 400001", tc.name, r.status, r.raw)
		}
	}
	if len(e.sb.Deliveries()) != 0 {
		t.Errorf("Deliveries = %+v, want none", e.sb.Deliveries())
	}
}
