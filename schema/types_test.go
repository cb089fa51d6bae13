package schema

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// The reference's examples decode into the types, with no field left over, and encode back to
// the same JSON.
func TestTypesRoundTrip(t *testing.T) {
	tests := []struct {
		file string
		into any
	}{
		{"card_group", &Card{}},
		{"card_single", &Card{}},
		{"crossdomain", &CrossDomain{}},
		{"crossdomain_request", &CrossDomainRequest{}},
		{"robot", &Robot{}},
		{"robot_text", &Robot{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			in := example(t, tt.file)
			dec := json.NewDecoder(bytes.NewReader(in))
			dec.DisallowUnknownFields()
			if err := dec.Decode(tt.into); err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(tt.into)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(in, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip changed the JSON:\n got %s\nwant %s", out, in)
			}
		})
	}
}

// Bodies built from the types pass validation: optional fields left zero are left out.
func TestTypesValidate(t *testing.T) {
	v := newValidator(t)
	tests := []struct {
		kind Kind
		body any
	}{
		{KindCard, Card{
			CardTemplateID:     "StandardCard",
			SingleChatReceiver: `{"userId":"u1"}`,
			OutTrackID:         "t1",
			RobotCode:          "r1",
			CardData:           `{"cardParamMap":{}}`,
		}},
		{KindCrossDomain, CrossDomain{
			Sender:    "1001@domain",
			MessageID: "m1",
			Message: CrossDomainMessage{
				ConversationType: 1, UUID: "u1", ContentType: CrossDomainContentText,
				Content: `{"content":"hi"}`, CID: "1011@domain:@domain$1@G",
			},
		}},
		{KindRobot, Robot{
			Link: "https://oapi.dingtalk.com/robot/send?access_token=x",
			Data: []RobotMessage{
				{MsgType: RobotMsgText, Text: &RobotText{Content: "hi"}},
				{MsgType: RobotMsgMarkdown, Markdown: &RobotMarkdown{Title: "t", Text: "# t"}, At: &RobotAt{IsAtAll: true}},
				{MsgType: RobotMsgLink, Link: &RobotLink{Title: "t", Text: "x", MessageURL: "https://a.b/"}},
				{MsgType: RobotMsgActionCard, ActionCard: &RobotActionCard{Title: "t", Text: "x",
					Btns: []RobotButton{{Title: "ok", ActionURL: "https://a.b/"}}}},
				{MsgType: RobotMsgFeedCard, FeedCard: &RobotFeedCard{Links: []RobotFeedLink{
					{Title: "t", MessageURL: "https://a.b/", PicURL: "https://a.b/p.png"}}}},
			},
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			b, err := json.Marshal(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			check(t, v.Validate(tt.kind, b), wantErr{})
		})
	}
}
