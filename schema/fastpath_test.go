package schema

import (
	"strings"
	"testing"
)

// FuzzFastPath holds the fast path to its one promise: it never accepts a body the JSON Schema
// rejects. (It may send valid bodies to the schema; that costs time, not correctness.)
func FuzzFastPath(f *testing.F) {
	for _, name := range []string{"card_group", "card_single", "crossdomain"} {
		body := example(f, name)
		kind := KindCard
		if name == "crossdomain" {
			kind = KindCrossDomain
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
	{KindCrossDomain, `{"sender":"s","message_id":"m","send_message_model":{"conversation_type":1.0,"uuid":"u","content_type":1,"content":"{}","cid":"c"}}`},
	{KindCrossDomain, `{"sender":"s","message_id":"m","send_message_model":{"conversation_type":1,"uuid":"u","content_type":3,"content":"{}","cid":"c"}}`},
	{KindCrossDomain, `{"sender":"s","message_id":"m","send_message_model":{"conversation_type":-7,"uuid":"u","content_type":2,"content":"{}","cid":"c"},"message_receiver_scope_model":{"actual_receivers":["a",1]}}`},
}

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
	for _, name := range []string{"card_group", "card_single"} {
		if !v.fast.valid(KindCard, example(t, name)) {
			t.Errorf("%s does not take the fast path", name)
		}
	}
	if !v.fast.valid(KindCrossDomain, example(t, "crossdomain")) {
		t.Error("crossdomain does not take the fast path")
	}
	chinese := strings.Replace(card1, `"o1"`, `"\u4e2d\u6587"`, 1) + `}`
	if !v.fast.valid(KindCard, []byte(chinese)) {
		t.Error("a card with \\u-escaped Chinese text does not take the fast path")
	}
}
