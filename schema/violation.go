package schema

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// rootField is the Field of a failure of the body as a whole.
const rootField = "(root)"

// failure is one leaf of the schema library's error tree.
type failure struct {
	err *jsonschema.ValidationError
	loc []string // where in the instance; for "required", ending with the missing property
}

// violation turns the schema library's error tree for doc into a *ValidationError that names one
// failure: the deepest, ties broken by location then keyword, so that a body always reports the
// same failure whatever the library's (map) order. Its message is built from the error's kind,
// never from the library's text, which may quote the body.
func (v *Validator) violation(doc any, verr *jsonschema.ValidationError) *ValidationError {
	f := deepest(verr)
	var msg string
	if _, ok := f.err.ErrorKind.(*kind.ContentSchema); ok {
		msg = v.contentMessage(doc, f)
	} else {
		msg = v.message(f.err)
	}
	return &ValidationError{Code: CodeInvalidField, Field: fieldPath(doc, f.loc), Rule: keyword(f.err.ErrorKind), Message: msg}
}

// deepest returns the deepest failure under e. Failures of oneOf, anyOf and contentSchema count
// as leaves: which alternative was meant is unknown, and content has its own paths.
func deepest(e *jsonschema.ValidationError) failure {
	switch e.ErrorKind.(type) {
	case *kind.OneOf, *kind.AnyOf, *kind.ContentSchema:
		return failure{err: e, loc: location(e)}
	}
	if len(e.Causes) == 0 {
		return failure{err: e, loc: location(e)}
	}
	return deepestOf(e.Causes)
}

// deepestOf returns the deepest failure under any of errs, which must not be empty.
func deepestOf(errs []*jsonschema.ValidationError) failure {
	best := deepest(errs[0])
	for _, e := range errs[1:] {
		if f := deepest(e); deeper(f, best) {
			best = f
		}
	}
	return best
}

// location is where e failed; for a missing property, the first one missing.
func location(e *jsonschema.ValidationError) []string {
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		if len(k.Missing) > 0 {
			return append(e.InstanceLocation[:len(e.InstanceLocation):len(e.InstanceLocation)], k.Missing[0])
		}
	case *kind.ContentSchema:
		// v6.0.3 keeps a slice here that later siblings overwrite (santhosh-tekuri/jsonschema#269),
		// so read the location off the schema, where contentSchema sits under a chain of
		// "properties" (TestContentSchemaPlacement).
		return propertyChain(e.SchemaURL)
	}
	return e.InstanceLocation
}

// deeper orders failures: a longer location first, then the smaller location (array indexes by
// number), then the smaller keyword.
func deeper(a, b failure) bool {
	if len(a.loc) != len(b.loc) {
		return len(a.loc) > len(b.loc)
	}
	for i := range a.loc {
		if a.loc[i] != b.loc[i] {
			return tokenLess(a.loc[i], b.loc[i])
		}
	}
	return keyword(a.err.ErrorKind) < keyword(b.err.ErrorKind)
}

// tokenLess orders location tokens, numbers (array indexes) by value.
func tokenLess(a, b string) bool {
	ai, aerr := strconv.Atoi(a)
	bi, berr := strconv.Atoi(b)
	if aerr == nil && berr == nil {
		return ai < bi
	}
	return a < b
}

// fieldPath writes loc as a dotted path, with array indexes in brackets: data[0].markdown.title.
// It walks doc to tell an array index from a property whose name is a number.
func fieldPath(doc any, loc []string) string {
	if len(loc) == 0 {
		return rootField
	}
	var b strings.Builder
	for _, tok := range loc {
		switch v := doc.(type) {
		case []any:
			b.WriteString("[" + tok + "]")
			doc = nil
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(v) {
				doc = v[i]
			}
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(tok)
			m, _ := v.(map[string]any)
			doc = m[tok]
		}
	}
	return b.String()
}

// contentMessage words the failure of a JSON-in-a-string field's contentSchema by the deepest
// failure inside the JSON it holds, e.g. "the JSON it holds: field userId: must not be empty".
func (v *Validator) contentMessage(doc any, f failure) string {
	if len(f.err.Causes) == 0 {
		return "the JSON it holds does not match the schema"
	}
	var inner any // to tell arrays in the path; nil leaves every token a property
	if s, ok := valueAt(doc, f.loc).(string); ok {
		_ = json.Unmarshal([]byte(s), &inner)
	}
	in := deepestOf(f.err.Causes)
	msg := "the JSON it holds: "
	if len(in.loc) > 0 {
		msg += "field " + fieldPath(inner, in.loc) + ": "
	}
	return msg + v.message(in.err)
}
