package schema

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzValidate feeds Validate any kind and body: it must not panic, and must return nil or a
// *ValidationError with a Code, the same one every time. Seeds are in
// testdata/fuzz/FuzzValidate: valid jobs of each kind, and hostile ones (deep nesting, invalid
// UTF-8, huge strings, JSON inside strings).
func FuzzValidate(f *testing.F) {
	v := newValidator(f)
	f.Fuzz(func(t *testing.T, kind string, body []byte) {
		err := v.Validate(Kind(kind), body)
		if err == nil {
			return
		}
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("got %T %v, want a *ValidationError", err, err)
		}
		if ve.Code == "" || ve.Message == "" {
			t.Fatalf("%#v lacks a code or message", ve)
		}
		if (ve.Code == CodeInvalidField) != (ve.Field != "" && ve.Rule != "") {
			t.Fatalf("%#v: Field and Rule go with Code %s, and only with it", ve, CodeInvalidField)
		}
		if again := v.Validate(Kind(kind), body); again.Error() != err.Error() {
			t.Fatalf("got %v, then %v", err, again)
		}
	})
}

// FuzzJobID names any body of any kind without panicking, and the same way every time: even an
// invalid job gets an id for its dead letter.
func FuzzJobID(f *testing.F) {
	f.Add("card", "", []byte(`{"outTrackId":"a"}`))
	f.Add("crossdomain", "", []byte(`{"message_id":"m"}`))
	f.Add("robot", "", []byte(`{"link":"x","data":[]}`))
	f.Add("card", "msg-1", []byte(`not json`))
	f.Add("card", "", []byte(`{"outTrackId":7,"OUTTRACKID":"b"}`))
	f.Add("card", "", []byte(`{"outTrackId":"a\r\nX-Injected: 1"}`))
	f.Fuzz(func(t *testing.T, kind, msgID string, body []byte) {
		id := JobID(Kind(kind), msgID, body)
		if id == "" {
			t.Fatal("empty job id")
		}
		if msgID != "" && id != msgID {
			t.Fatalf("id %q ignores the message id %q", id, msgID)
		}
		if msgID == "" && (len(id) > 256 || strings.ContainsAny(id, "\r\n\x00")) {
			t.Fatalf("derived id %q cannot travel in a header", id)
		}
		if again := JobID(Kind(kind), msgID, body); again != id {
			t.Fatalf("id %q, then %q", id, again)
		}
		for _, name := range []string{"outTrackId", "message_id"} {
			if got, want := stringField(body, name), mapStringField(body, name); got != want {
				t.Fatalf("stringField(%q) = %q, the map decode says %q\n%s", name, got, want, body)
			}
		}
	})
}

// mapStringField is the plain implementation stringField must agree with: decode the top level
// into a map (the last of repeated names wins) and read the field as a string.
func mapStringField(body []byte, name string) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return ""
	}
	var v string
	if json.Unmarshal(fields[name], &v) != nil {
		return ""
	}
	return v
}
