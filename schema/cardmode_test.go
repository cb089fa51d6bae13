package schema

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestCardModeOf(t *testing.T) {
	tests := []struct {
		name string
		body string
		want CardMode
	}{
		{"deliver", `{"cardTemplateId":"t","openSpaceId":"dtv1.card//IM_GROUP.c"}`, CardDeliver},
		{"deliver, field last", `{"cardData":{"cardParamMap":{"openSpaceId":"x"}}, "openSpaceId" : "s"}`, CardDeliver},
		{"deliver, null value", `{"openSpaceId":null}`, CardDeliver},
		{"deliver, number value", `{"openSpaceId":1}`, CardDeliver},
		{"deliver, escaped key", `{"open\u0053paceId":"s"}`, CardDeliver},
		{"deliver, repeated key", `{"openSpaceId":"a","openSpaceId":"b"}`, CardDeliver},
		{"template", `{"cardTemplateId":"t","openConversationId":"c"}`, CardTemplate},
		{"template, nested openSpaceId", `{"cardData":{"openSpaceId":"x"},"a":["openSpaceId"]}`, CardTemplate},
		{"template, openSpaceId as a value", `{"note":"openSpaceId"}`, CardTemplate},
		{"template, cardData string naming it", `{"cardData":"{\"openSpaceId\":\"x\"}"}`, CardTemplate},
		{"template, another case", `{"OpenSpaceId":"s","openspaceid":"s"}`, CardTemplate},
		{"template, escapes elsewhere", `{"t":"\u4e2d","x":1}`, CardTemplate},
		{"not JSON", `{"openSpaceId":`, CardTemplate},
		{"not an object", `["openSpaceId"]`, CardTemplate},
		{"empty", ``, CardTemplate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CardModeOf([]byte(tt.body)); got != tt.want {
				t.Errorf("CardModeOf(%s) = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
	for name, want := range map[string]CardMode{
		"card_group": CardTemplate, "card_single": CardTemplate,
		"card_deliver_group": CardDeliver, "card_deliver_robot": CardDeliver,
	} {
		if got := CardModeOf(example(t, name)); got != want {
			t.Errorf("CardModeOf(%s) = %q, want %q", name, got, want)
		}
	}
}

// CardModeOf is on every card job's path: a template body costs no allocation.
func TestCardModeOfAllocates(t *testing.T) {
	group, deliver := example(t, "card_group"), example(t, "card_deliver_group")
	if n := testing.AllocsPerRun(100, func() { CardModeOf(group); CardModeOf(deliver) }); n != 0 {
		t.Errorf("%.0f allocations, want 0", n)
	}
}

// FuzzCardModeOf holds the scan to the plain implementation: decode the top level into a map and
// look the name up, as the schema's "if" does.
func FuzzCardModeOf(f *testing.F) {
	for _, name := range []string{"card_group", "card_single", "card_deliver_group", "card_deliver_robot"} {
		f.Add(example(f, name))
	}
	f.Add([]byte(`{"open\u0053paceId":1}`))
	f.Add([]byte(`{"a":{"openSpaceId":1},"openSpaceId":[]}`))
	f.Add([]byte(`{"openSpaceId\u0000":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var fields map[string]json.RawMessage
		present := false
		if json.Unmarshal(body, &fields) == nil {
			_, present = fields[cardModeField]
		}
		if got := CardModeOf(body) == CardDeliver; got != present {
			t.Fatalf("CardModeOf says deliver %v, the map decode %v:\n%s", got, present, body)
		}
	})
}

// A deliver card is named by its outTrackId, as a template card is.
func TestJobIDOfDeliverCard(t *testing.T) {
	if got := JobID(KindCard, "", example(t, "card_deliver_group")); got != "order-20241122-0002" {
		t.Errorf("JobID = %q, want the outTrackId", got)
	}
}

// The deliver examples decode into CardDelivery with no field left over, and encode back to the
// same JSON.
func TestCardDeliveryRoundTrip(t *testing.T) {
	for _, name := range []string{"card_deliver_group", "card_deliver_robot"} {
		t.Run(name, func(t *testing.T) {
			in := example(t, name)
			dec := json.NewDecoder(bytes.NewReader(in))
			dec.DisallowUnknownFields()
			var d CardDelivery
			if err := dec.Decode(&d); err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(d)
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

// Bodies built from the types pass validation and are told apart by CardModeOf; a nil
// cardParamMap is sent as {}.
func TestCardDeliveryValidates(t *testing.T) {
	v := newValidator(t)
	for _, d := range []CardDelivery{
		{CardTemplateID: "t.schema", OutTrackID: "o1", OpenSpaceID: "dtv1.card//IM_ROBOT.u1"},
		{
			CardTemplateID: "t.schema", OutTrackID: "o2", OpenSpaceID: "dtv1.card//IM_GROUP.cid1;IM_ROBOT.u1",
			CardData:    CardParams{CardParamMap: map[string]string{"title": "hi"}},
			PrivateData: map[string]CardParams{"u1": {}},
			UserIDType:  1, CallbackType: "STREAM",
			IMGroupOpenSpaceModel: &CardOpenSpaceModel{SupportForward: true, Notification: &CardNotification{AlertContent: "a"},
				SearchSupport: &CardSearchSupport{SearchDesc: "d"}},
			IMGroupOpenDeliverModel:  &CardGroupDeliverModel{RobotCode: "r", AtUserIDs: map[string]string{"@ALL": "@ALL"}},
			IMRobotOpenDeliverModel:  &CardRobotDeliverModel{SpaceType: "IM_ROBOT", RobotCode: "r"},
			IMSingleOpenDeliverModel: &CardSingleDeliverModel{Extension: map[string]string{"k": "v"}},
			OpenDynamicDataConfig:    json.RawMessage(`{"dynamicDataSourceConfigs":[]}`),
		},
	} {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Validate(KindCard, b); err != nil {
			t.Errorf("%s: %v", b, err)
		}
		if m := CardModeOf(b); m != CardDeliver {
			t.Errorf("%s: mode %q", b, m)
		}
	}
}

func BenchmarkCardModeOf(b *testing.B) {
	for _, name := range []string{"card_group", "card_deliver_group"} {
		body := example(b, name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				CardModeOf(body)
			}
		})
	}
}
