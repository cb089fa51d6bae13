package schema

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// obj is a decoded JSON object, for tests that edit a valid body.
type obj = map[string]any

func newValidator(tb testing.TB) *Validator {
	tb.Helper()
	v, err := NewValidator(ValidatorConfig{})
	if err != nil {
		tb.Fatalf("NewValidator: %v", err)
	}
	return v
}

// example reads testdata/examples/<name>.json.
func example(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "examples", name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// edited decodes body, applies edit and encodes the result.
func edited(tb testing.TB, body []byte, edit func(m obj)) []byte {
	tb.Helper()
	var m obj
	if err := json.Unmarshal(body, &m); err != nil {
		tb.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// at returns the object at key in m, for edits of nested objects.
func at(m obj, key string) obj { return m[key].(obj) }

// item returns the i-th object of the array at key in m.
func item(m obj, key string, i int) obj { return m[key].([]any)[i].(obj) }

// wantErr is the expected outcome of a validation; the zero value means valid.
type wantErr struct{ code, field, rule string }

// check asserts that err is nil when want is zero, and otherwise a *ValidationError with want's
// code, field and rule, and a message.
func check(t *testing.T, err error, want wantErr) {
	t.Helper()
	if want == (wantErr{}) {
		if err != nil {
			t.Fatalf("got %v, want valid", err)
		}
		return
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v (%T), want a *ValidationError", err, err)
	}
	got := wantErr{ve.Code, ve.Field, ve.Rule}
	if got != want {
		t.Fatalf("got code=%q field=%q rule=%q (%v), want code=%q field=%q rule=%q",
			got.code, got.field, got.rule, err, want.code, want.field, want.rule)
	}
	if ve.Message == "" {
		t.Fatalf("%#v has no message", ve)
	}
}

// field is the expected outcome of a schema violation.
func field(path, rule string) wantErr { return wantErr{CodeInvalidField, path, rule} }
