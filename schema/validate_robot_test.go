package schema

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestValidateRobot(t *testing.T) {
	v := newValidator(t)
	base := example(t, "robot")
	msg := func(m obj, i int) obj { return item(m, "data", i) }
	ids := func(n int) []any {
		s := make([]any, n)
		for i := range s {
			s[i] = "1380000" + strings.Repeat("0", 4)
		}
		return s
	}
	tests := []struct {
		name string
		edit func(m obj)
		want wantErr
	}{
		{"example", nil, wantErr{}},
		{"no sk", func(m obj) { delete(m, "sk") }, wantErr{}},
		{"http link", func(m obj) { m["link"] = "http://127.0.0.1:8080/robot/send?access_token=x" }, wantErr{}},
		{"50 mentions", func(m obj) { at(msg(m, 0), "at")["atUserIds"] = ids(50) }, wantErr{}},
		{"msgUuid", func(m obj) { msg(m, 0)["msgUuid"] = "retry-key-1" }, wantErr{}},
		{"unknown field passes", func(m obj) { msg(m, 1)["newField"] = true }, wantErr{}},

		{"no link", func(m obj) { delete(m, "link") }, field("link", "required")},
		{"link a number", func(m obj) { m["link"] = 1 }, field("link", "type")},
		{"link not http", func(m obj) { m["link"] = "ftp://oapi.dingtalk.com/robot/send" }, field("link", "pattern")},
		{"link relative", func(m obj) { m["link"] = "/robot/send?access_token=x" }, field("link", "format")},
		{"link with a space", func(m obj) { m["link"] = "https://oapi.dingtalk.com/robot send" }, field("link", "pattern")},
		{"link malformed", func(m obj) { m["link"] = "https://[::1/robot" }, field("link", "format")},
		{"sk a number", func(m obj) { m["sk"] = 7 }, field("sk", "type")},
		{"no data", func(m obj) { delete(m, "data") }, field("data", "required")},
		{"empty data", func(m obj) { m["data"] = []any{} }, field("data", "minItems")},
		{"data an object", func(m obj) { m["data"] = msg(m, 0) }, field("data", "type")},
		{"message a string", func(m obj) { m["data"].([]any)[2] = "hello" }, field("data[2]", "type")},
		{"no msgtype", func(m obj) { delete(msg(m, 0), "msgtype") }, field("data[0].msgtype", "required")},
		{"unknown msgtype", func(m obj) { msg(m, 0)["msgtype"] = "image" }, field("data[0].msgtype", "enum")},
		{"text without text", func(m obj) { delete(msg(m, 0), "text") }, field("data[0].text", "required")},
		{"text without content", func(m obj) { msg(m, 0)["text"] = obj{} }, field("data[0].text.content", "required")},
		{"empty text", func(m obj) { msg(m, 0)["text"] = obj{"content": ""} }, field("data[0].text.content", "minLength")},
		{"markdown like the relay's sample", func(m obj) { msg(m, 1)["markdown"] = obj{"content": "# hi"} }, field("data[1].markdown.title", "required")},
		{"markdown without title", func(m obj) { delete(at(msg(m, 1), "markdown"), "title") }, field("data[1].markdown.title", "required")},
		{"markdown without text", func(m obj) { delete(at(msg(m, 1), "markdown"), "text") }, field("data[1].markdown.text", "required")},
		{"markdown a string", func(m obj) { msg(m, 1)["markdown"] = "# hi" }, field("data[1].markdown", "type")},
		{"link without messageUrl", func(m obj) { delete(at(msg(m, 2), "link"), "messageUrl") }, field("data[2].link.messageUrl", "required")},
		{"actionCard without buttons", func(m obj) { delete(at(msg(m, 3), "actionCard"), "singleURL") }, field("data[3].actionCard", "anyOf")},
		{"actionCard without title", func(m obj) { delete(at(msg(m, 3), "actionCard"), "title") }, field("data[3].actionCard.title", "required")},
		{"button without actionURL", func(m obj) { delete(item(at(msg(m, 4), "actionCard"), "btns", 1), "actionURL") }, field("data[4].actionCard.btns[1].actionURL", "required")},
		{"empty btns", func(m obj) { at(msg(m, 4), "actionCard")["btns"] = []any{} }, field("data[4].actionCard.btns", "minItems")},
		{"btnOrientation 2", func(m obj) { at(msg(m, 4), "actionCard")["btnOrientation"] = "2" }, field("data[4].actionCard.btnOrientation", "enum")},
		{"feedCard without links", func(m obj) { msg(m, 5)["feedCard"] = obj{} }, field("data[5].feedCard.links", "required")},
		{"feed link without picURL", func(m obj) { delete(item(at(msg(m, 5), "feedCard"), "links", 0), "picURL") }, field("data[5].feedCard.links[0].picURL", "required")},
		{"51 mobiles", func(m obj) { at(msg(m, 0), "at")["atMobiles"] = ids(51) }, field("data[0].at.atMobiles", "maxItems")},
		{"51 userIds", func(m obj) { at(msg(m, 0), "at")["atUserIds"] = ids(51) }, field("data[0].at.atUserIds", "maxItems")},
		{"isAtAll a string", func(m obj) { at(msg(m, 0), "at")["isAtAll"] = "true" }, field("data[0].at.isAtAll", "type")},
		{"mobile a number", func(m obj) { at(msg(m, 0), "at")["atMobiles"] = []any{13800000000} }, field("data[0].at.atMobiles[0]", "type")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := base
			if tt.edit != nil {
				body = edited(t, body, tt.edit)
			}
			check(t, v.Validate(KindRobot, body), tt.want)
		})
	}
}

func TestValidateRobotMessageBytes(t *testing.T) {
	v := newValidator(t)
	// text returns a robot body whose messages' text contents are n bytes long.
	text := func(n ...int) []byte {
		var b strings.Builder
		b.WriteString(`{"link":"https://oapi.dingtalk.com/robot/send?access_token=x","data":[`)
		for i, size := range n {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`{"msgtype":"text","text":{"content":"` + strings.Repeat("x", size) + `"}}`)
		}
		b.WriteString("]}")
		return []byte(b.String())
	}
	// The wrapper {"msgtype":"text","text":{"content":""}} is 40 bytes.
	const wrapper = 40
	padded := []byte(`{"link":"https://a.b/","data":[{"msgtype":"text",` + strings.Repeat(" ", 30000) +
		`"text":{"content":"hi"}}]}`)
	tests := []struct {
		name string
		body []byte
		want wantErr
	}{
		{"exactly the limit", text(MaxRobotMessageBytes - wrapper), wantErr{}},
		{"one byte over", text(MaxRobotMessageBytes - wrapper + 1), field("data[0]", "maxBytes")},
		{"second message over", text(10, 25000, 30000), field("data[1]", "maxBytes")},
		{"many small messages", text(15000, 15000, 15000), wantErr{}},
		{"whitespace does not count", padded, wantErr{}},
		{"multi-byte characters count in bytes", []byte(`{"link":"https://a.b/","data":[{"msgtype":"text","text":{"content":"` +
			strings.Repeat("单", 7000) + `"}}]}`), field("data[0]", "maxBytes")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, v.Validate(KindRobot, tt.body), tt.want)
		})
	}
}

// The named form, {"robot","data"}: exactly one of link and robot, and no sk with robot.
func TestValidateNamedRobot(t *testing.T) {
	v := newValidator(t)
	base := example(t, "robot_named")
	name := func(s string) func(m obj) { return func(m obj) { m["robot"] = s } }
	tests := []struct {
		name string
		edit func(m obj)
		want wantErr
	}{
		{"example", nil, wantErr{}},
		{"one character", name("a"), wantErr{}},
		{"64 characters", name(strings.Repeat("a", 64)), wantErr{}},
		{"digits, '-' and '_'", name("Ops_Team-2"), wantErr{}},
		{"unknown field passes", func(m obj) { m["newField"] = 1 }, wantErr{}},

		{"both link and robot", func(m obj) { m["link"] = "https://oapi.dingtalk.com/robot/send?access_token=x" }, field("link", "false")},
		{"both, with sk", func(m obj) {
			m["link"] = "https://oapi.dingtalk.com/robot/send?access_token=x"
			m["sk"] = "SECx"
		}, field("link", "false")},
		{"both, link empty", func(m obj) { m["link"] = "" }, field("link", "false")},
		{"sk with robot", func(m obj) { m["sk"] = "SECx" }, field("sk", "false")},
		{"neither link nor robot", func(m obj) { delete(m, "robot") }, field("link", "required")},
		{"empty name", name(""), field("robot", "minLength")},
		{"65 characters", name(strings.Repeat("a", 65)), field("robot", "maxLength")},
		{"a space", name("ops team"), field("robot", "pattern")},
		{"a dot", name("ops.team"), field("robot", "pattern")},
		{"a slash", name("ops/team"), field("robot", "pattern")},
		{"not ASCII", name("运维"), field("robot", "pattern")},
		{"a newline", name("ops\n"), field("robot", "pattern")},
		{"a number", func(m obj) { m["robot"] = 7 }, field("robot", "type")},
		{"null", func(m obj) { m["robot"] = nil }, field("robot", "type")},
		{"no data", func(m obj) { delete(m, "data") }, field("data", "required")},
		{"messages still checked", func(m obj) { delete(at(item(m, "data", 0), "markdown"), "title") }, field("data[0].markdown.title", "required")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := base
			if tt.edit != nil {
				body = edited(t, body, tt.edit)
			}
			check(t, v.Validate(KindRobot, body), tt.want)
		})
	}
}

// What operators read when a job gets the two forms wrong.
func TestValidateNamedRobotMessages(t *testing.T) {
	v := newValidator(t)
	named, relay := example(t, "robot_named"), example(t, "robot_text")
	tests := []struct {
		body []byte
		want string
	}{
		{edited(t, named, func(m obj) { m["link"] = "https://oapi.dingtalk.com/robot/send?access_token=x" }),
			"invalid job: field link: false: is not allowed"},
		{edited(t, named, func(m obj) { m["sk"] = "SECx" }), "invalid job: field sk: false: is not allowed"},
		{edited(t, relay, func(m obj) { delete(m, "link") }), "invalid job: field link: required: missing property"},
		{edited(t, named, func(m obj) { m["robot"] = "ops team" }),
			`invalid job: field robot: pattern: does not match the pattern "^[A-Za-z0-9_-]*$"`},
		{edited(t, named, func(m obj) { m["robot"] = strings.Repeat("a", 65) }),
			"invalid job: field robot: maxLength: longer than 64 characters"},
	}
	for _, tt := range tests {
		if got := v.Validate(KindRobot, tt.body); got == nil || got.Error() != tt.want {
			t.Errorf("got  %v\nwant %s", got, tt.want)
		}
	}
}

// A name that fails is never repeated in the error: producers may mistake a secret for a name.
func TestValidateRobotNameHidden(t *testing.T) {
	const secret = "SECnot-a-name 7f3a9c"
	v := newValidator(t)
	for _, name := range []string{secret, strings.Repeat("SECx7f3a9c1e", 6)} {
		err := v.Validate(KindRobot, edited(t, example(t, "robot_named"), func(m obj) { m["robot"] = name }))
		if err == nil || strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "SEC") {
			t.Errorf("got %v, want an error that does not quote the name", err)
		}
	}
}

// The named example decodes into Robot with nothing left over and encodes back the same; a Robot
// built with RobotName encodes without link or sk, and validates.
func TestRobotNamedType(t *testing.T) {
	var r Robot
	dec := json.NewDecoder(bytes.NewReader(example(t, "robot_named")))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.RobotName != "ops-alerts" || r.Link != "" || len(r.Data) != 2 || r.Data[1].MsgUUID != "build-42-passed" {
		t.Errorf("decoded %+v", r)
	}
	b, err := json.Marshal(Robot{RobotName: "ops", Data: []RobotMessage{{MsgType: RobotMsgText, Text: &RobotText{Content: "hi"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"robot":"ops","data":[{"msgtype":"text","text":{"content":"hi"}}]}`; string(b) != want {
		t.Errorf("encoded %s, want %s", b, want)
	}
	check(t, newValidator(t).Validate(KindRobot, b), wantErr{})
}
