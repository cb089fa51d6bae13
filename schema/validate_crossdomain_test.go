package schema

import "testing"

func TestValidateCrossDomain(t *testing.T) {
	v := newValidator(t)
	base := example(t, "crossdomain")
	msg := func(m obj) obj { return at(m, "send_message_model") }
	tests := []struct {
		name string
		edit func(m obj)
		want wantErr
	}{
		{"example", nil, wantErr{}},
		{"card content", func(m obj) { msg(m)["content_type"] = 2 }, wantErr{}},
		{"no receivers", func(m obj) { delete(m, "message_receiver_scope_model") }, wantErr{}},
		{"notification on", func(m obj) { m["new_conversation_notification_off"] = false }, wantErr{}},
		{"unknown field passes", func(m obj) { msg(m)["extension"] = "x" }, wantErr{}},

		{"wrapped in the envelope", func(m obj) {
			for k := range m {
				delete(m, k)
			}
			m["crossdomain_message_send_model"] = edited(t, example(t, "crossdomain"), func(obj) {})
		}, field("sender", "required")},
		{"no sender", func(m obj) { delete(m, "sender") }, field("sender", "required")},
		{"empty sender", func(m obj) { m["sender"] = "" }, field("sender", "minLength")},
		{"no message_id", func(m obj) { delete(m, "message_id") }, field("message_id", "required")},
		{"message_id a number", func(m obj) { m["message_id"] = 321443 }, field("message_id", "type")},
		{"message_id with newline", func(m obj) { m["message_id"] = "a\nb" }, field("message_id", "pattern")},
		{"no send_message_model", func(m obj) { delete(m, "send_message_model") }, field("send_message_model", "required")},
		{"send_message_model a string", func(m obj) { m["send_message_model"] = "{}" }, field("send_message_model", "type")},
		{"no conversation_type", func(m obj) { delete(msg(m), "conversation_type") }, field("send_message_model.conversation_type", "required")},
		{"no uuid", func(m obj) { delete(msg(m), "uuid") }, field("send_message_model.uuid", "required")},
		{"no content_type", func(m obj) { delete(msg(m), "content_type") }, field("send_message_model.content_type", "required")},
		{"no content", func(m obj) { delete(msg(m), "content") }, field("send_message_model.content", "required")},
		{"no cid", func(m obj) { delete(msg(m), "cid") }, field("send_message_model.cid", "required")},
		{"conversation_type a string", func(m obj) { msg(m)["conversation_type"] = "1" }, field("send_message_model.conversation_type", "type")},
		{"conversation_type a fraction", func(m obj) { msg(m)["conversation_type"] = 1.5 }, field("send_message_model.conversation_type", "type")},
		{"content_type 3", func(m obj) { msg(m)["content_type"] = 3 }, field("send_message_model.content_type", "enum")},
		{"content_type a string", func(m obj) { msg(m)["content_type"] = "1" }, field("send_message_model.content_type", "type")},
		{"content an object", func(m obj) { msg(m)["content"] = obj{"content": "x"} }, field("send_message_model.content", "type")},
		{"content not json", func(m obj) { msg(m)["content"] = "test" }, field("send_message_model.content", "contentMediaType")},
		{"content a json string", func(m obj) { msg(m)["content"] = `"test"` }, field("send_message_model.content", "contentSchema")},
		{"receivers not strings", func(m obj) { at(m, "message_receiver_scope_model")["actual_receivers"] = []any{"a", 1} }, field("message_receiver_scope_model.actual_receivers[1]", "type")},
		{"receivers a string", func(m obj) { at(m, "message_receiver_scope_model")["actual_receivers"] = "uid" }, field("message_receiver_scope_model.actual_receivers", "type")},
		{"notification a string", func(m obj) { m["new_conversation_notification_off"] = "true" }, field("new_conversation_notification_off", "type")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := base
			if tt.edit != nil {
				body = edited(t, body, tt.edit)
			}
			check(t, v.Validate(KindCrossDomain, body), tt.want)
		})
	}
}
