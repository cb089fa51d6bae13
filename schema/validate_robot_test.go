package schema

import (
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
