package schema

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Bodies carry secrets (a robot's sk, the access_token in its webhook URL); a ValidationError goes
// into dead-letter headers and logs, so it must never repeat them, even when the secret is the
// very value that fails.
func TestValidationErrorHidesSecrets(t *testing.T) {
	const (
		sk    = "SECsk7f3a9c1e5b"
		token = "tok0e4d2b8a6f1c"
	)
	link := "https://oapi.dingtalk.com/robot/send?access_token=" + token
	msgs := `[{"msgtype":"text","text":{"content":"hi"}}]`
	robot := func(link, sk string) string { return `{"link":` + link + `,"sk":` + sk + `,"data":` + msgs + `}` }
	q := func(s string) string { return `"` + s + `"` }
	tests := []struct {
		name string
		kind Kind
		body string
	}{
		{"sk an array", KindRobot, robot(q(link), `["`+sk+`"]`)},
		{"sk an object", KindRobot, robot(q(link), `{"k":"`+sk+`"}`)},
		{"link an array", KindRobot, robot(`["`+link+`"]`, q(sk))},
		{"link not http", KindRobot, robot(q("ftp://h/?access_token="+token+"&sk="+sk), q(sk))},
		{"link relative", KindRobot, robot(q("/robot/send?access_token="+token), q(sk))},
		{"link with a space", KindRobot, robot(q("https://h/ x?access_token="+token), q(sk))},
		{"link malformed", KindRobot, robot(q("https://[::1?access_token="+token), q(sk))},
		{"link with a control character", KindRobot, robot(q(`https://h/\u0001?access_token=`+token), q(sk))},
		{"secret as msgtype", KindRobot, `{"link":"https://h/","data":[{"msgtype":"` + sk + `"}]}`},
		{"secret as a key", KindRobot, `{"link":"https://h/","data":[{"msgtype":"text","text":{"` + sk + `":1}}]}`},
		{"secret in a large message", KindRobot, `{"link":"https://h/","data":[{"msgtype":"text","text":{"content":"` + strings.Repeat(sk, 2000) + `"}}]}`},
		{"secret unquoted", KindRobot, `{"link":` + link + `,"sk":` + sk + `}`},
		{"secret truncated", KindRobot, `{"link":"` + link + `","sk":"` + sk},
		{"secret with invalid UTF-8", KindRobot, `{"sk":"` + sk + "\xff" + `"}`},
		{"secret too deep", KindRobot, `{"sk":"` + sk + `","x":` + strings.Repeat("[", 40) + `}`},
		{"secret as outTrackId", KindCard, `{"outTrackId":"` + strings.Repeat(sk, 5) + `"}`},
		{"secret in outTrackId with a newline", KindCard, `{"cardTemplateId":"c","openConversationId":"o","robotCode":"r","cardData":"{}","outTrackId":"` + sk + `\n"}`},
		{"secret as cardData", KindCard, `{"cardTemplateId":"c","openConversationId":"o","robotCode":"r","outTrackId":"t","cardData":"` + sk + `"}`},
		{"secret as content", KindCrossDomain, `{"sender":"s","message_id":"m","send_message_model":{"conversation_type":1,"uuid":"u","content_type":1,"content":"` + token + `","cid":"c"}}`},
		{"secret as content_type", KindCrossDomain, `{"sender":"s","message_id":"m","send_message_model":{"conversation_type":1,"uuid":"u","content_type":"` + sk + `","content":"{}","cid":"c"}}`},
	}
	v := newValidator(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Validate(tt.kind, []byte(tt.body))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			for _, s := range []string{err.Error(), ve.Code, ve.Field, ve.Rule, ve.Message} {
				for _, secret := range []string{sk, token} {
					if strings.Contains(s, secret) {
						t.Errorf("%q holds the secret %q", s, secret)
					}
				}
			}
		})
	}
}

// The schema library's own messages do quote the body, which is why Validate words its own.
func TestSchemaLibraryQuotesValues(t *testing.T) {
	v := newValidator(t)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(
		`{"link":"ftp://h/?access_token=tok0e4d2b8a6f1c","data":[{"msgtype":"text","text":{"content":"hi"}}]}`)))
	if err != nil {
		t.Fatal(err)
	}
	err = v.schemas[KindRobot].Validate(doc)
	if err == nil || !strings.Contains(err.Error(), "tok0e4d2b8a6f1c") {
		t.Fatalf("the library's message no longer quotes the value (%v): this test and messages.go may be simplified", err)
	}
}
