package schema

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// FuzzFastPath holds the fast path to its one promise: it never accepts a body the JSON Schema
// rejects. (It may send valid bodies to the schema; that costs time, not correctness.)
func FuzzFastPath(f *testing.F) {
	for _, name := range []string{"card_group", "card_single", "card_deliver_group", "card_deliver_robot", "crossdomain",
		"robot", "robot_named", "robot_text"} {
		body := example(f, name)
		kind := KindCard
		switch {
		case name == "crossdomain":
			kind = KindCrossDomain
		case strings.HasPrefix(name, "robot"):
			kind = KindRobot
		}
		f.Add(string(kind), body)
	}
	for _, c := range fastPathCases {
		f.Add(string(c.kind), []byte(c.body))
	}
	v := newValidator(f)
	f.Fuzz(func(t *testing.T, kind string, body []byte) {
		k := Kind(kind)
		sch, ok := v.schemas[k]
		if !ok || v.checkBytes(body) != nil || !v.fast.valid(k, body) {
			return
		}
		if err := v.validateSchema(k, sch, body); err != nil {
			t.Fatalf("the fast path accepted what the schema rejects (%v):\n%s", err, body)
		}
	})
}

const deliver1 = `{"cardTemplateId":"t.schema","outTrackId":"o1","openSpaceId":"dtv1.card//IM_GROUP.cid1","cardData":{"cardParamMap":{"a":"1"}}`

const card1 = `{"cardTemplateId":"StandardCard","openConversationId":"cid1","outTrackId":"o1","robotCode":"r1","cardData":"{\"a\":1}"`

// fastPathCases are bodies where the two paths could part ways; each must get the same verdict.
var fastPathCases = []struct {
	kind Kind
	body string
}{
	{KindCard, card1 + `}`},
	{KindCard, card1 + `,"outTrackId":null}`},                                 // repeated key, last one bad
	{KindCard, card1 + `,"extra":1e999}`},                                     // number out of range
	{KindCard, strings.Replace(card1, `{\"a\":1}`, `{\"a\":1e999}`, 1) + `}`}, // inside the content
	{KindCard, strings.Replace(card1, `"o1"`, `"o\u0001"`, 1) + `}`},          // escaped control character
	{KindCard, strings.Replace(card1, `"o1"`, `"\ud800"`, 1) + `}`},           // broken surrogate
	{KindCard, strings.Replace(card1, `"o1"`, `"`+strings.Repeat("中", 65)+`"`, 1) + `}`},
	{KindCard, strings.Replace(card1, `"o1"`, `"`+strings.Repeat("中", 64)+`"`, 1) + `}`},
	{KindCard, strings.Replace(card1, `{\"a\":1}`, `[1]`, 1) + `}`}, // content not an object
	{KindCard, strings.Replace(card1, `{\"a\":1}`, `{\"a\":\u4e2d}`, 1) + `}`},
	{KindCard, card1 + `,"singleChatReceiver":"{\"userId\":\"u\"}"}`}, // both receivers
	{KindCard, strings.Replace(card1, `"openConversationId":"cid1"`, `"singleChatReceiver":"{\"userId\":\"\"}"`, 1) + `}`},
	{KindCard, strings.Replace(card1, `"openConversationId":"cid1"`, `"singleChatReceiver":"{\"unionId\":\"x\",\"userId\":5}"`, 1) + `}`},
	{KindCard, card1 + `,"sendOptions":{"atAll":"yes"}}`},
	{KindCard, card1 + `,"sendOptions":{"atUserListJson":"[\"u1\"]","atAll":true}}`},
	{KindCard, deliver1 + `}`},
	{KindCard, deliver1 + `,"openSpaceId":null}`},                                            // repeated key, last one bad
	{KindCard, deliver1 + `,"robotCode":"r","openConversationId":"c"}`},                      // template fields pass through
	{KindCard, `{"openSpaceId":"dtv1.card//IM_GROUP.c",` + card1[1:] + `}`},                  // a template body in the deliver mode
	{KindCard, `{"open\u0053paceId":"dtv1.card//IM_GROUP.c",` + deliver1[1:] + `}`},          // escaped key: a repeat
	{KindCard, strings.Replace(deliver1, `IM_GROUP.cid1`, `IM_GROUP.cid1;`, 1) + `}`},        // trailing separator
	{KindCard, strings.Replace(deliver1, `IM_GROUP.cid1`, `IM_GROUP.c;im_robot.u`, 1) + `}`}, // two spaces
	{KindCard, strings.Replace(deliver1, `IM_GROUP.cid1`, `IM_GROUP.\n`, 1) + `}`},           // an escaped newline as the id
	{KindCard, strings.Replace(deliver1, `IM_GROUP.cid1`, `IM-GROUP.c`, 1) + `}`},
	{KindCard, strings.Replace(deliver1, `IM_GROUP.cid1`, `.c`, 1) + `}`},
	{KindCard, strings.Replace(deliver1, `dtv1.card//`, `dt.card//`, 1) + `}`},
	{KindCard, strings.Replace(deliver1, `{"a":"1"}`, `{"a":"1","a":2}`, 1) + `}`}, // repeated key in a map
	{KindCard, strings.Replace(deliver1, `{"a":"1"}`, `{"a":2,"a":"1"}`, 1) + `}`},
	{KindCard, strings.Replace(deliver1, `"cardData":{"cardParamMap":{"a":"1"}}`, `"cardData":"{\"cardParamMap\":{}}"`, 1) + `}`},
	{KindCard, strings.Replace(deliver1, `"cardData":{"cardParamMap":{"a":"1"}}`, `"cardData":{}`, 1) + `}`},
	{KindCard, deliver1 + `,"userIdType":1}`},
	{KindCard, deliver1 + `,"userIdType":1.0}`},
	{KindCard, deliver1 + `,"userIdType":"1"}`},
	{KindCard, deliver1 + `,"imGroupOpenDeliverModel":{"robotCode":"","recipients":["u"]}}`},
	{KindCard, deliver1 + `,"imGroupOpenDeliverModel":{"robotCode":"r","recipients":["u",1]}}`},
	{KindCard, deliver1 + `,"imGroupOpenDeliverModel":{"robotCode":"r","atUserIds":{"u":"n","v":null}}}`},
	{KindCard, deliver1 + `,"imRobotOpenSpaceModel":{"supportForward":"no"}}`},
	{KindCard, deliver1 + `,"imRobotOpenDeliverModel":{"spaceType":"IM_ROBOT","extension":{"k":1}}}`},
	{KindCrossDomain, `{"sender":"s","message_id":"m","send_message_model":{"conversation_type":1.0,"uuid":"u","content_type":1,"content":"{}","cid":"c"}}`},
	{KindCrossDomain, `{"sender":"s","message_id":"m","send_message_model":{"conversation_type":1,"uuid":"u","content_type":3,"content":"{}","cid":"c"}}`},
	{KindCrossDomain, `{"sender":"s","message_id":"m","send_message_model":{"conversation_type":-7,"uuid":"u","content_type":2,"content":"{}","cid":"c"},"message_receiver_scope_model":{"actual_receivers":["a",1]}}`},
	{KindRobot, robot1 + `}`},
	{KindRobot, robot1 + `,"robot":"ops"}`},                         // both forms
	{KindRobot, robot1 + `,"sk":5}`},                                // sk not a string
	{KindRobot, robot1 + `,"link":null}`},                           // repeated key, last one bad
	{KindRobot, robot1 + `,"extra":{"a":1,"a":null},"more":[1e5]}`}, // fields the schema does not name
	{KindRobot, strings.Replace(robot1, `https://oapi`, `ftp://oapi`, 1) + `}`},
	{KindRobot, strings.Replace(robot1, `https://oapi`, `https://`, 1) + `}`}, // no host
	{KindRobot, strings.Replace(robot1, `oapi.dingtalk.com`, `oapi.ding talk.com`, 1) + `}`},
	{KindRobot, strings.Replace(robot1, `oapi.dingtalk.com`, `oapi.dingtalk.com\t`, 1) + `}`},
	{KindRobot, strings.Replace(robot1, `oapi.dingtalk.com`, `oapi.dingtalk.com\u000b`, 1) + `}`}, // \v: not \s
	{KindRobot, strings.Replace(robot1, `oapi.dingtalk.com`, `oapi.dingtalk.com:80x`, 1) + `}`},   // bad port
	{KindRobot, strings.Replace(robot1, `oapi.dingtalk.com`, `[::1]:80`, 1) + `}`},
	{KindRobot, strings.Replace(robot1, `oapi.dingtalk.com`, `::1`, 1) + `}`},
	{KindRobot, strings.Replace(robot1, `access_token=x`, `access_token=%zz`, 1) + `}`},
	{KindRobot, strings.Replace(robot1, `access_token=x`, `access_token=中文`, 1) + `}`},
	{KindRobot, `{"robot":"ops","data":[{"msgtype":"text","text":{"content":"x"}}]}`},
	{KindRobot, `{"robot":"ops","sk":"s","data":[{"msgtype":"text","text":{"content":"x"}}]}`},
	{KindRobot, `{"robot":"","data":[{"msgtype":"text","text":{"content":"x"}}]}`},
	{KindRobot, `{"robot":"ops.1","data":[{"msgtype":"text","text":{"content":"x"}}]}`},
	{KindRobot, `{"robot":"` + strings.Repeat("a", 65) + `","data":[{"msgtype":"text","text":{"content":"x"}}]}`},
	{KindRobot, `{"robot":null,"data":[{"msgtype":"text","text":{"content":"x"}}]}`},
	{KindRobot, `{"data":[{"msgtype":"text","text":{"content":"x"}}]}`},
	{KindRobot, robotMsg(`{"msgtype":"text"}`)},
	{KindRobot, robotMsg(`{"msgtype":"text","text":{"content":""}}`)},
	{KindRobot, robotMsg(`{"msgtype":"text","text":{"content":"x","extra":1}}`)},
	{KindRobot, robotMsg(`{"msgtype":"Text","text":{"content":"x"}}`)},
	{KindRobot, robotMsg(`{"msgtype":"text","text":{"content":"x"},"markdown":{"title":"t"}}`)}, // a member msgtype does not name
	{KindRobot, robotMsg(`{"msgtype":"link","link":{"title":"t","text":"x","messageUrl":"u","picUrl":1}}`)},
	{KindRobot, robotMsg(`{"msgtype":"actionCard","actionCard":{"title":"t","text":"x","singleTitle":"s"}}`)},
	{KindRobot, robotMsg(`{"msgtype":"actionCard","actionCard":{"title":"t","text":"x","btns":[]}}`)},
	{KindRobot, robotMsg(`{"msgtype":"actionCard","actionCard":{"title":"t","text":"x","btns":[{"title":"b"}]}}`)},
	{KindRobot, robotMsg(`{"msgtype":"actionCard","actionCard":{"title":"t","text":"x","btns":[{"title":"b","actionURL":"u"}],"btnOrientation":"2"}}`)},
	{KindRobot, robotMsg(`{"msgtype":"feedCard","feedCard":{"links":[{"title":"t","messageURL":"u"}]}}`)},
	{KindRobot, robotMsg(`{"msgtype":"text","text":{"content":"x"},"at":{"isAtAll":"yes"}}`)},
	{KindRobot, robotMsg(`{"msgtype":"text","text":{"content":"x"},"at":{"atMobiles":[` + strings.TrimSuffix(strings.Repeat(`"1",`, 51), ",") + `]}}`)},
	{KindRobot, robotMsg(`{"msgtype":"text","text":{"content":"x"},"at":{"atUserIds":["u",1]}}`)},
	{KindRobot, robotMsg(`{"msgtype":"text","text":{"content":"x"},"msgUuid":7}`)},
	{KindRobot, robotMsg(`{"msgtype":"text","text":{"content":"x"},"msgtype":"markdown"}`)}, // repeated key
	{KindRobot, robotMsg(`[]`)},
	{KindRobot, strings.Replace(robot1, `[{"msgtype":"text","text":{"content":"hello"}}]`, `[]`, 1) + `}`},
}

// robot1 is a robot job in the webhook form, without its closing brace.
const robot1 = `{"link":"https://oapi.dingtalk.com/robot/send?access_token=x","data":[{"msgtype":"text","text":{"content":"hello"}}]`

// robotMsg is a named robot's job of the one message m.
func robotMsg(m string) string { return `{"robot":"ops","data":[` + m + `]}` }

func TestFastPathAgreesWithTheSchemaOnTrickyBodies(t *testing.T) {
	v := newValidator(t)
	for i, c := range fastPathCases {
		fast := v.fast.valid(c.kind, []byte(c.body))
		schemaErr := v.validateSchema(c.kind, v.schemas[c.kind], []byte(c.body))
		if fast && schemaErr != nil {
			t.Errorf("case %d: fast path accepts, schema says %v:\n%s", i, schemaErr, c.body)
		}
	}
	// The common shapes must take the fast path, or it buys nothing.
	for _, name := range []string{"card_group", "card_single", "card_deliver_group", "card_deliver_robot"} {
		if !v.fast.valid(KindCard, example(t, name)) {
			t.Errorf("%s does not take the fast path", name)
		}
	}
	if !v.fast.valid(KindCrossDomain, example(t, "crossdomain")) {
		t.Error("crossdomain does not take the fast path")
	}
	for _, name := range []string{"robot", "robot_named", "robot_text"} {
		if !v.fast.valid(KindRobot, example(t, name)) {
			t.Errorf("%s does not take the fast path", name)
		}
	}
	chinese := strings.Replace(card1, `"o1"`, `"\u4e2d\u6587"`, 1) + `}`
	if !v.fast.valid(KindCard, []byte(chinese)) {
		t.Error("a card with \\u-escaped Chinese text does not take the fast path")
	}
}

// openSpaceID is the schema's pattern written out by hand; the two must agree.
func TestOpenSpaceIDMatchesThePattern(t *testing.T) {
	var doc struct {
		Then struct {
			Properties struct {
				OpenSpaceID struct {
					Pattern string `json:"pattern"`
				} `json:"openSpaceId"`
			} `json:"properties"`
		} `json:"then"`
	}
	if err := json.Unmarshal(SchemaJSON(KindCard), &doc); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(doc.Then.Properties.OpenSpaceID.Pattern)
	for _, s := range []string{
		"dtv1.card//IM_GROUP.cid1==", "dtv1.card//IM_ROBOT.user001", "dtv1.card//im_group.c;im_robot.u",
		"dtv1.card//IM_GROUP.a.b.c", "dtv1.card//IM_GROUP.\n", "dtv1.card//IM_GROUP.中文", "dtv1.card//_.x",
		"", "dtv1.card//", "dtv1.card//IM_GROUP", "dtv1.card//IM_GROUP.", "dtv1.card//IM_GROUP.c;", "dtv1.card//;IM_GROUP.c",
		"dtv1.card//.c", "dtv1.card//IM-GROUP.c", "dtv1.card//IM1.c", "dt.card//IM_GROUP.c", "DTV1.card//IM_GROUP.c",
		" dtv1.card//IM_GROUP.c", "dtv1.card//IM_GROUP.c;;IM_ROBOT.u", "dtv1.card//IM_GROUP.c;IM_ROBOT",
	} {
		if got, want := openSpaceID([]byte(s)), re.MatchString(s); got != want {
			t.Errorf("openSpaceID(%q) = %v, the pattern says %v", s, got, want)
		}
	}
}

// BenchmarkValidateCardDeliver shows what the deliver fast path saves over the schema.
func BenchmarkValidateCardDeliver(b *testing.B) {
	v := newValidator(b)
	body := example(b, "card_deliver_group")
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := v.Validate(KindCard, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("schema", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := v.validateSchema(KindCard, v.schemas[KindCard], body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestRawControl(t *testing.T) {
	for in, want := range map[string]bool{
		`{"a":"b"}`:              false,
		"{\n\t\"a\" :\r\n\"b\"}": false, // whitespace between tokens
		"{\"a\":\"\x08\"}":       true,  // a raw backspace in a string
		"{\"a\":\"\t\"}":         true,  // a raw tab in a string
		"{\"a\":\"\\\x01\"}":     true,  // a raw control byte after a backslash
		`{"a":"\"\u0008\\"}`:     false, // escapes are fine
		"{\"a\":1}\x00":          true,
		`{"a":"\\"}` + "\n":      false,
	} {
		if got := rawControl([]byte(in)); got != want {
			t.Errorf("rawControl(%q) = %v, want %v", in, got, want)
		}
	}
}
