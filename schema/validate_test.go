package schema

import (
	"strings"
	"sync"
	"testing"
)

func TestValidateExamples(t *testing.T) {
	v := newValidator(t)
	tests := []struct {
		kind Kind
		file string
	}{
		{KindCard, "card_group"},
		{KindCard, "card_single"},
		{KindCrossDomain, "crossdomain"},
		{KindRobot, "robot"},
		{KindRobot, "robot_text"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			check(t, v.Validate(tt.kind, example(t, tt.file)), wantErr{})
		})
	}
}

// The checks that come before the schema, for every kind, in their documented order.
func TestValidateBody(t *testing.T) {
	v, err := NewValidator(ValidatorConfig{MaxBodyBytes: 128})
	if err != nil {
		t.Fatal(err)
	}
	deep := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	deeper := `{"a":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`
	tests := []struct {
		name string
		body string
		want wantErr
	}{
		{"empty", "", wantErr{CodeEmptyBody, "", ""}},
		{"too large", `{"a":"` + strings.Repeat("x", 130) + `"}`, wantErr{CodeTooLarge, "", ""}},
		{"too large beats invalid UTF-8", strings.Repeat("\xff", 129), wantErr{CodeTooLarge, "", ""}},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", wantErr{CodeInvalidUTF8, "", ""}},
		{"invalid UTF-8 beats too deep", strings.Repeat("[", 40) + "\xff", wantErr{CodeInvalidUTF8, "", ""}},
		{"too deep", deeper, wantErr{CodeTooDeep, "", ""}},
		{"too deep beats invalid JSON", strings.Repeat("[", MaxDepth+1), wantErr{CodeTooDeep, "", ""}},
		{"deep but within the limit", deep, wantErr{CodeInvalidJSON, "", ""}},
		{"not JSON", "hello", wantErr{CodeInvalidJSON, "", ""}},
		{"truncated", `{"a":`, wantErr{CodeInvalidJSON, "", ""}},
		{"trailing data", `{} {}`, wantErr{CodeInvalidJSON, "", ""}},
		{"number out of range", `{"a":1e999999}`, wantErr{CodeInvalidJSON, "", ""}},
		{"only whitespace", " \n", wantErr{CodeInvalidJSON, "", ""}},
		{"an array", `[]`, wantErr{CodeInvalidJSON, "", ""}},
		{"a string", `"{}"`, wantErr{CodeInvalidJSON, "", ""}},
		{"null", `null`, wantErr{CodeInvalidJSON, "", ""}},
	}
	for _, tt := range tests {
		for _, k := range Kinds() {
			t.Run(tt.name+"/"+string(k), func(t *testing.T) {
				check(t, v.Validate(k, []byte(tt.body)), tt.want)
			})
		}
	}
}

func TestValidateUnknownKind(t *testing.T) {
	v := newValidator(t)
	for _, k := range []Kind{"", "sms", "Card"} {
		check(t, v.Validate(k, example(t, "card_group")), wantErr{CodeUnknownKind, "", ""})
		check(t, v.Validate(k, nil), wantErr{CodeUnknownKind, "", ""})
	}
}

func TestValidatorConfig(t *testing.T) {
	if _, err := NewValidator(ValidatorConfig{MaxBodyBytes: -1}); err == nil {
		t.Error("MaxBodyBytes -1: got no error")
	}
	v := newValidator(t)
	if v.cfg.MaxBodyBytes != DefaultMaxBodyBytes {
		t.Errorf("default MaxBodyBytes = %d, want %d", v.cfg.MaxBodyBytes, DefaultMaxBodyBytes)
	}
	robot := func(n int) []byte {
		return []byte(`{"link":"https://a.b/","data":[{"msgtype":"text","text":{"content":"hi"}}],"pad":"` +
			strings.Repeat("x", n) + `"}`)
	}
	over := len(robot(0))
	check(t, v.Validate(KindRobot, robot(DefaultMaxBodyBytes-over)), wantErr{})
	check(t, v.Validate(KindRobot, robot(DefaultMaxBodyBytes-over+1)), wantErr{CodeTooLarge, "", ""})
}

// A body with many violations reports the same one every time, though the schema library
// visits properties in map order.
func TestValidateDeterministic(t *testing.T) {
	v := newValidator(t)
	body := []byte(`{"cardTemplateId":1,"openConversationId":2,"singleChatReceiver":"{}","outTrackId":3,
		"robotCode":4,"cardData":"x","sendOptions":{"atAll":"y","atUserListJson":"[","cardPropertyJson":5}}`)
	first := v.Validate(KindCard, body).Error()
	for range 100 {
		if got := v.Validate(KindCard, body).Error(); got != first {
			t.Fatalf("got %q, then %q", first, got)
		}
	}
	// Among the deepest failures the smallest field wins.
	want := "invalid job: field sendOptions.atAll: type: got string, want boolean"
	if first != want {
		t.Errorf("got %q, want %q", first, want)
	}
}

func TestValidateConcurrent(t *testing.T) {
	v := newValidator(t)
	bodies := map[Kind][]byte{
		KindCard:        example(t, "card_group"),
		KindCrossDomain: example(t, "crossdomain"),
		KindRobot:       example(t, "robot"),
	}
	bad := edited(t, bodies[KindCard], func(m obj) { delete(m, "outTrackId") })
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 50 {
				for k, b := range bodies {
					if err := v.Validate(k, b); err != nil {
						t.Errorf("%s: %v", k, err)
						return
					}
				}
				if v.Validate(KindCard, bad) == nil {
					t.Error("a card without outTrackId passed")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestValidationErrorError(t *testing.T) {
	tests := []struct {
		err  ValidationError
		want string
	}{
		{ValidationError{Code: CodeInvalidField, Field: "outTrackId", Rule: "required", Message: "missing property"},
			"invalid job: field outTrackId: required: missing property"},
		{ValidationError{Code: CodeEmptyBody, Message: "body is empty"}, "invalid job: empty_body: body is empty"},
		{ValidationError{Code: CodeInvalidField, Field: "(root)", Rule: "oneOf", Message: "m"}, "invalid job: field (root): oneOf: m"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

// What operators read in a dead letter's Dingq-Error header.
func TestValidateMessages(t *testing.T) {
	v := newValidator(t)
	card, cross, robot := example(t, "card_group"), example(t, "crossdomain"), example(t, "robot")
	tests := []struct {
		kind Kind
		body []byte
		want string
	}{
		{KindCard, edited(t, card, func(m obj) { delete(m, "outTrackId") }),
			"invalid job: field outTrackId: required: missing property"},
		{KindCard, edited(t, card, func(m obj) { m["outTrackId"] = strings.Repeat("a", 65) }),
			"invalid job: field outTrackId: maxLength: longer than 64 characters"},
		{KindCard, edited(t, card, func(m obj) { m["cardData"] = "not json" }),
			"invalid job: field cardData: contentMediaType: must be a string holding valid application/json"},
		{KindCard, edited(t, card, func(m obj) { m["cardData"] = obj{"a": 1} }),
			"invalid job: field cardData: type: got object, want string"},
		{KindCard, edited(t, card, func(m obj) { delete(m, "openConversationId"); m["singleChatReceiver"] = `{"userId":""}` }),
			"invalid job: field singleChatReceiver: contentSchema: the JSON it holds: field userId: must not be empty"},
		{KindCard, edited(t, card, func(m obj) { delete(m, "openConversationId"); m["singleChatReceiver"] = `{}` }),
			"invalid job: field singleChatReceiver: contentSchema: the JSON it holds: needs userId or unionId"},
		{KindCrossDomain, edited(t, cross, func(m obj) { at(m, "send_message_model")["content_type"] = 3 }),
			"invalid job: field send_message_model.content_type: enum: must be one of 1, 2"},
		{KindRobot, edited(t, robot, func(m obj) { delete(at(item(m, "data", 3), "actionCard"), "singleURL") }),
			"invalid job: field data[3].actionCard: anyOf: needs singleTitle and singleURL, or btns"},
		{KindRobot, edited(t, robot, func(m obj) { item(m, "data", 0)["msgtype"] = "image" }),
			`invalid job: field data[0].msgtype: enum: must be one of "text", "markdown", "link", "actionCard", "feedCard"`},
		{KindRobot, edited(t, robot, func(m obj) { m["link"] = "ftp://h/" }),
			`invalid job: field link: pattern: does not match the pattern "^https?://[^\\s]+$"`},
		{KindRobot, []byte(`{"link":"https://h/",}`), "invalid job: invalid_json: body is not valid JSON (at byte 22)"},
	}
	for _, tt := range tests {
		if got := v.Validate(tt.kind, tt.body); got == nil || got.Error() != tt.want {
			t.Errorf("got  %v\nwant %s", got, tt.want)
		}
	}
}
