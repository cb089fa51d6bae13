package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// MaxRobotMessageBytes is the largest robot message DingTalk accepts, in bytes.
const MaxRobotMessageBytes = 20000

// checkRobotMessages returns a *ValidationError (Rule "maxBytes") for the first message in a
// schema-valid robot body's data that is larger than [MaxRobotMessageBytes] as compact JSON,
// which is how the relay passes it on; whitespace in the job does not count.
func checkRobotMessages(body []byte) error {
	if len(body) <= MaxRobotMessageBytes {
		return nil // no message can be larger than the whole body
	}
	var r struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return &ValidationError{Code: CodeInvalidJSON, Message: "body is not valid JSON"}
	}
	var buf bytes.Buffer
	for i, m := range r.Data {
		if len(m) <= MaxRobotMessageBytes {
			continue
		}
		buf.Reset()
		if json.Compact(&buf, m) == nil && buf.Len() <= MaxRobotMessageBytes {
			continue
		}
		return &ValidationError{
			Code:    CodeInvalidField,
			Field:   fmt.Sprintf("data[%d]", i),
			Rule:    "maxBytes",
			Message: fmt.Sprintf("message is larger than %d bytes", MaxRobotMessageBytes),
		}
	}
	return nil
}
