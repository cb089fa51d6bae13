package schema

import "embed"

// schemaFiles holds the JSON Schema of each kind, jsonschema/<kind>.schema.json. It is the
// package's only package-level variable, as go:embed requires, and it is never written.
//
//go:embed jsonschema/*.schema.json
var schemaFiles embed.FS

// SchemaBaseURL starts each kind's schema $id: SchemaBaseURL + "<kind>.schema.json".
const SchemaBaseURL = "https://dingq.dev/schema/"

// SchemaJSON returns the JSON Schema (draft 2020-12) that jobs of kind k must satisfy, so that
// producers in any language can validate with dingq's own rules. Each call returns a fresh copy.
// It returns nil for an unknown kind.
//
// Validators should be told to assert format and content, which draft 2020-12 leaves off by
// default: the robot's link must be a URI, and cardData, singleChatReceiver, the card's *Json
// send options and the crossdomain content must hold JSON (of the right shape) in a string.
// Robot jobs have one more rule that no schema states: each message in data is at most
// [MaxRobotMessageBytes] bytes.
func SchemaJSON(k Kind) []byte {
	if _, err := ParseKind(string(k)); err != nil {
		return nil
	}
	b, err := schemaFiles.ReadFile(schemaPath(k))
	if err != nil {
		return nil
	}
	return b
}

// schemaPath is the embedded file of kind k's schema.
func schemaPath(k Kind) string { return "jsonschema/" + string(k) + ".schema.json" }

// schemaURL is kind k's schema $id.
func schemaURL(k Kind) string { return SchemaBaseURL + string(k) + ".schema.json" }
