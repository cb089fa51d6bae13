package wire

import (
	"bytes"
	"encoding/json"
)

// IsJSONObject reports whether an answer is a JSON object. DingTalk's API answers are; its ban
// page and proxies' error pages are not.
func IsJSONObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// JSONText returns the value of a JSON string, any other JSON value (a number) as written, and ""
// for null or an absent field. DingTalk sends some codes as strings and some as numbers.
func JSONText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}
