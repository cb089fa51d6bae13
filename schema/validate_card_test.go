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

func TestValidateCardDeliver(t *testing.T) {
	v := newValidator(t)
	group, robot := example(t, "card_deliver_group"), example(t, "card_deliver_robot")
	tests := []struct {
		name string
		base []byte
		edit func(m obj)
		want wantErr
	}{
		{"group example", group, nil, wantErr{}},
		{"robot example", robot, nil, wantErr{}},
		{"several spaces", group, func(m obj) { m["openSpaceId"] = "dtv1.card//IM_GROUP.cid1==;im_robot.user001" }, wantErr{}},
		{"empty cardParamMap", robot, func(m obj) { at(m, "cardData")["cardParamMap"] = obj{} }, wantErr{}},
		{"unknown field passes", group, func(m obj) { m["topOpenSpaceModel"] = obj{"spaceType": "ONE_BOX"} }, wantErr{}},
		{"no robotCode needed", robot, func(m obj) { delete(m, "imRobotOpenDeliverModel") }, wantErr{}},
		{"privateData", robot, func(m obj) { m["privateData"] = obj{"user001": obj{"cardParamMap": obj{"title": "Hi Zhang"}}} }, wantErr{}},
		{"notification", group, func(m obj) {
			at(m, "imGroupOpenSpaceModel")["notification"] = obj{"alertContent": "new card", "notificationOff": false}
		}, wantErr{}},

		// The fields both modes share keep their rules.
		{"no cardTemplateId", group, func(m obj) { delete(m, "cardTemplateId") }, field("cardTemplateId", "required")},
		{"no outTrackId", group, func(m obj) { delete(m, "outTrackId") }, field("outTrackId", "required")},
		{"outTrackId of 65", group, func(m obj) { m["outTrackId"] = strings.Repeat("a", 65) }, field("outTrackId", "maxLength")},
		{"outTrackId with newline", group, func(m obj) { m["outTrackId"] = "a\r\nX-Evil: 1" }, field("outTrackId", "pattern")},
		{"no cardData", group, func(m obj) { delete(m, "cardData") }, field("cardData", "required")},

		// The deliver mode's own rules.
		{"openSpaceId null", group, func(m obj) { m["openSpaceId"] = nil }, field("openSpaceId", "type")},
		{"openSpaceId empty", group, func(m obj) { m["openSpaceId"] = "" }, field("openSpaceId", "pattern")},
		{"openSpaceId without prefix", group, func(m obj) { m["openSpaceId"] = "IM_GROUP.cid1" }, field("openSpaceId", "pattern")},
		{"openSpaceId without space id", group, func(m obj) { m["openSpaceId"] = "dtv1.card//IM_GROUP." }, field("openSpaceId", "pattern")},
		{"openSpaceId trailing separator", group, func(m obj) { m["openSpaceId"] = "dtv1.card//IM_GROUP.cid1;" }, field("openSpaceId", "pattern")},
		{"cardData a JSON string", group, func(m obj) { m["cardData"] = `{"cardParamMap":{}}` }, field("cardData", "type")},
		// The content rules of the template's cardData string sit beside the mode's rules (see the
		// schema), and their keyword sorts first.
		{"cardData a string not JSON", group, func(m obj) { m["cardData"] = "x" }, field("cardData", "contentMediaType")},
		{"cardData without cardParamMap", group, func(m obj) { m["cardData"] = obj{} }, field("cardData.cardParamMap", "required")},
		{"cardParamMap a string", group, func(m obj) { at(m, "cardData")["cardParamMap"] = "{}" }, field("cardData.cardParamMap", "type")},
		{"cardParamMap value a number", group, func(m obj) { at(at(m, "cardData"), "cardParamMap")["title"] = 1 }, field("cardData.cardParamMap.title", "type")},
		{"userIdType a string", group, func(m obj) { m["userIdType"] = "1" }, field("userIdType", "type")},
		{"userIdType a fraction", group, func(m obj) { m["userIdType"] = 1.5 }, field("userIdType", "type")},
		{"callbackType a number", group, func(m obj) { m["callbackType"] = 1 }, field("callbackType", "type")},
		{"privateData value a string", robot, func(m obj) { m["privateData"] = obj{"user001": "x"} }, field("privateData.user001", "type")},
		{"supportForward a string", group, func(m obj) { at(m, "imGroupOpenSpaceModel")["supportForward"] = "true" }, field("imGroupOpenSpaceModel.supportForward", "type")},
		{"lastMessageI18n value a number", group, func(m obj) { at(at(m, "imGroupOpenSpaceModel"), "lastMessageI18n")["ZH_CN"] = 1 }, field("imGroupOpenSpaceModel.lastMessageI18n.ZH_CN", "type")},
		{"robotCode empty", group, func(m obj) { at(m, "imGroupOpenDeliverModel")["robotCode"] = "" }, field("imGroupOpenDeliverModel.robotCode", "minLength")},
		{"recipients a string", group, func(m obj) { at(m, "imGroupOpenDeliverModel")["recipients"] = "user001" }, field("imGroupOpenDeliverModel.recipients", "type")},
		{"recipient a number", group, func(m obj) { at(m, "imGroupOpenDeliverModel")["recipients"] = []any{"u", 2} }, field("imGroupOpenDeliverModel.recipients[1]", "type")},
		{"atUserIds an array", group, func(m obj) { at(m, "imGroupOpenDeliverModel")["atUserIds"] = []any{"u"} }, field("imGroupOpenDeliverModel.atUserIds", "type")},
		{"robot spaceType a number", robot, func(m obj) { at(m, "imRobotOpenDeliverModel")["spaceType"] = 1 }, field("imRobotOpenDeliverModel.spaceType", "type")},
		{"top bar", group, func(m obj) {
			m["openSpaceId"] = "dtv1.card//ONE_BOX.cidXXXX=="
			m["topOpenSpaceModel"] = obj{"spaceType": "ONE_BOX"}
			m["topOpenDeliverModel"] = obj{"expiredTimeMillis": 1767225600000, "platforms": []any{"ios"}}
		}, wantErr{}},
		{"top bar without its expiry", group, func(m obj) { m["topOpenDeliverModel"] = obj{"userIds": []any{"u"}} },
			field("topOpenDeliverModel.expiredTimeMillis", "required")},
		{"openDynamicDataConfig an array", robot, func(m obj) { m["openDynamicDataConfig"] = []any{} }, field("openDynamicDataConfig", "type")},

		// The template mode's rules do not apply.
		{"no receiver, no robotCode", group, func(m obj) { delete(m, "openConversationId"); delete(m, "robotCode") }, wantErr{}},
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

// A template body that gains an openSpaceId is checked as a deliver body, and the other way
// round: the field alone picks the rules, as CardModeOf picks the API.
func TestValidateCardModeSwitch(t *testing.T) {
	v := newValidator(t)
	tests := []struct {
		name string
		body []byte
		want wantErr
	}{
		{"template with openSpaceId", edited(t, example(t, "card_group"), func(m obj) { m["openSpaceId"] = "dtv1.card//IM_GROUP.cid1" }),
			field("cardData", "type")}, // a string, where the deliver mode wants an object
		// Judged as a template body, whose first failure in field order is cardData's type.
		{"deliver without openSpaceId", edited(t, example(t, "card_deliver_group"), func(m obj) { delete(m, "openSpaceId") }),
			field("cardData", "type")},
		{"deliver without openSpaceId, cardData a string", edited(t, example(t, "card_deliver_group"), func(m obj) {
			delete(m, "openSpaceId")
			m["cardData"] = `{"cardParamMap":{}}`
		}), field("robotCode", "required")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, v.Validate(KindCard, tt.body), tt.want) })
	}
}

// What operators read in a dead letter's Dingq-Error header for a deliver card.
func TestValidateCardDeliverMessages(t *testing.T) {
	v := newValidator(t)
	group := example(t, "card_deliver_group")
	tests := []struct {
		body []byte
		want string
	}{
		{edited(t, group, func(m obj) { m["cardData"] = `{"cardParamMap":{}}` }),
			"invalid job: field cardData: type: got string, want object"},
		{edited(t, group, func(m obj) { m["openSpaceId"] = "cidAbCdEf123==" }),
			`invalid job: field openSpaceId: pattern: does not match the pattern "^dtv1\\.card//[A-Za-z_]+\\.[^;]+(;[A-Za-z_]+\\.[^;]+)*$"`},
		{edited(t, group, func(m obj) { at(m, "cardData")["cardParamMap"] = obj{"title": true} }),
			"invalid job: field cardData.cardParamMap.title: type: got boolean, want string"},
	}
	for _, tt := range tests {
		if got := v.Validate(KindCard, tt.body); got == nil || got.Error() != tt.want {
			t.Errorf("got  %v\nwant %s", got, tt.want)
		}
	}
}
