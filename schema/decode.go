package schema

import (
	"encoding/json"
	"errors"
	"fmt"
)

// decodeObject decodes body for the schema library and requires a JSON object. Numbers become
// float64, not the library's exact json.Number: the schemas need no more precision, decoding is
// faster, and a number such as 1e999999, which the library would expand into a huge big.Rat, is
// refused here instead. Its errors say where the JSON breaks but never quote it.
func decodeObject(body []byte) (map[string]any, error) {
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		msg := "body is not valid JSON"
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			msg += fmt.Sprintf(" (at byte %d)", syn.Offset)
		case errors.As(err, &typ):
			msg = fmt.Sprintf("body holds a number out of range (at byte %d)", typ.Offset)
		}
		return nil, &ValidationError{Code: CodeInvalidJSON, Message: msg}
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, &ValidationError{Code: CodeInvalidJSON, Message: "body is a JSON " + jsonType(doc) + ", not an object"}
	}
	return obj, nil
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return "number"
	}
}
