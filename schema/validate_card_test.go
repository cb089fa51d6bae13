package schema

import (
	"strings"
	"testing"
)

func TestValidateCard(t *testing.T) {
	v := newValidator(t)
	group, single := example(t, "card_group"), example(t, "card_single")
	tests := []struct {
		name string
		base []byte
		edit func(m obj)
		want wantErr
	}{
		{"group example", group, nil, wantErr{}},
		{"single example", single, nil, wantErr{}},
		{"unionId receiver", single, func(m obj) { m["singleChatReceiver"] = `{"unionId":"u1"}` }, wantErr{}},
		{"unknown field passes", group, func(m obj) { m["newDingTalkField"] = obj{"x": 1} }, wantErr{}},
		{"outTrackId of 64", group, func(m obj) { m["outTrackId"] = strings.Repeat("a", 64) }, wantErr{}},
		{"outTrackId of 64 runes", group, func(m obj) { m["outTrackId"] = strings.Repeat("单", 64) }, wantErr{}},
		{"minimal send options", group, func(m obj) { m["sendOptions"] = obj{} }, wantErr{}},

		{"no cardTemplateId", group, func(m obj) { delete(m, "cardTemplateId") }, field("cardTemplateId", "required")},
		{"empty cardTemplateId", group, func(m obj) { m["cardTemplateId"] = "" }, field("cardTemplateId", "minLength")},
		{"no outTrackId", group, func(m obj) { delete(m, "outTrackId") }, field("outTrackId", "required")},
		{"outTrackId of 65", group, func(m obj) { m["outTrackId"] = strings.Repeat("a", 65) }, field("outTrackId", "maxLength")},
		{"outTrackId with newline", group, func(m obj) { m["outTrackId"] = "a\r\nX-Evil: 1" }, field("outTrackId", "pattern")},
		{"outTrackId a number", group, func(m obj) { m["outTrackId"] = 42 }, field("outTrackId", "type")},
		{"no robotCode", group, func(m obj) { delete(m, "robotCode") }, field("robotCode", "required")},
		{"no cardData", group, func(m obj) { delete(m, "cardData") }, field("cardData", "required")},
		{"cardData not json", group, func(m obj) { m["cardData"] = "not json" }, field("cardData", "contentMediaType")},
		{"cardData an object", group, func(m obj) { m["cardData"] = obj{"a": 1} }, field("cardData", "type")},
		{"cardData an array string", group, func(m obj) { m["cardData"] = `[1]` }, field("cardData", "contentSchema")},
		{"cardData a json string", group, func(m obj) { m["cardData"] = `"x"` }, field("cardData", "contentSchema")},
		{"no receiver", group, func(m obj) { delete(m, "openConversationId") }, field(rootField, "oneOf")},
		{"both receivers", group, func(m obj) { m["singleChatReceiver"] = `{"userId":"u"}` }, field(rootField, "oneOf")},
		{"receiver an object", single, func(m obj) { m["singleChatReceiver"] = obj{"userId": "u"} }, field("singleChatReceiver", "type")},
		{"receiver not json", single, func(m obj) { m["singleChatReceiver"] = "user001" }, field("singleChatReceiver", "contentMediaType")},
		{"receiver without id", single, func(m obj) { m["singleChatReceiver"] = `{"name":"x"}` }, field("singleChatReceiver", "contentSchema")},
		{"receiver empty userId", single, func(m obj) { m["singleChatReceiver"] = `{"userId":""}` }, field("singleChatReceiver", "contentSchema")},
		{"callbackUrl a number", group, func(m obj) { m["callbackUrl"] = 1 }, field("callbackUrl", "type")},
		{"sendOptions a string", group, func(m obj) { m["sendOptions"] = "{}" }, field("sendOptions", "type")},
		{"atAll a string", group, func(m obj) { at(m, "sendOptions")["atAll"] = "true" }, field("sendOptions.atAll", "type")},
		{"atUserListJson not json", group, func(m obj) { at(m, "sendOptions")["atUserListJson"] = "[" }, field("sendOptions.atUserListJson", "contentMediaType")},
		{"receiverListJson an array", group, func(m obj) { at(m, "sendOptions")["receiverListJson"] = []any{} }, field("sendOptions.receiverListJson", "type")},
		{"cardPropertyJson not json", group, func(m obj) { at(m, "sendOptions")["cardPropertyJson"] = "{" }, field("sendOptions.cardPropertyJson", "contentMediaType")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.base
			if tt.edit != nil {
				body = edited(t, body, tt.edit)
			}
			check(t, v.Validate(KindCard, body), tt.want)
		})
	}
}

// The oneOf message names the alternatives, read from the schema, whichever way it fails.
func TestValidateCardReceiverMessage(t *testing.T) {
	v := newValidator(t)
	for _, body := range [][]byte{
		edited(t, example(t, "card_group"), func(m obj) { delete(m, "openConversationId") }),
		edited(t, example(t, "card_group"), func(m obj) { m["singleChatReceiver"] = `{"userId":"u"}` }),
	} {
		err := v.Validate(KindCard, body)
		want := "needs exactly one of openConversationId or singleChatReceiver"
		if err == nil || err.(*ValidationError).Message != want {
			t.Errorf("got %v, want message %q", err, want)
		}
	}
}

// JSON nested thousands of levels deep inside a string field (which the body's own depth check
// cannot see) must cost about what decoding it costs. fastjson words a syntax error once per
// level, quoting the rest of the input each time: the fuzzer found a 24 KB card that took 8 s.
// Counting allocations catches that without timing anything.
func TestValidateDeepJSONInString(t *testing.T) {
	v := newValidator(t)
	const levels = 5000
	tests := []struct {
		name    string
		content string
		want    wantErr
	}{
		{"never closed", strings.Repeat("[", 4*levels), field("cardData", "contentMediaType")},
		{"an array", strings.Repeat("[", levels) + strings.Repeat("]", levels), field("cardData", "contentSchema")},
		{"an object", strings.Repeat(`{"a":`, levels) + "1" + strings.Repeat("}", levels), wantErr{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := edited(t, example(t, "card_group"), func(m obj) { m["cardData"] = tt.content })
			var err error
			allocs := testing.AllocsPerRun(3, func() { err = v.Validate(KindCard, body) })
			if allocs > 8*levels { // decoding the object costs a few per level
				t.Errorf("%.0f allocations, want at most %d", allocs, 8*levels)
			}
			check(t, err, tt.want)
		})
	}
}
