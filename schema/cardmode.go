package schema

import (
	"bytes"

	"github.com/valyala/fastjson"
)

// CardMode is which DingTalk API a card job's body is meant for. Both modes share the card kind
// (its subjects, stream and dead letters); the body alone tells them apart.
type CardMode string

// The card modes.
const (
	// CardTemplate is the template send, POST /v1.0/im/interactiveCards/templates/send, whose
	// body is a [Card]. DingTalk closed it to new apps on 2024-12-31; apps that had it keep it.
	CardTemplate CardMode = "template"
	// CardDeliver is its successor, POST /v1.0/card/instances/createAndDeliver, whose body is a
	// [CardDelivery].
	CardDeliver CardMode = "deliver"
)

// cardModeField is the top-level field that only a createAndDeliver body has.
const cardModeField = "openSpaceId"

// CardModeOf returns the mode of a card job's body: [CardDeliver] when it has a top-level
// openSpaceId field, whatever its value, and [CardTemplate] otherwise, also for a body that is
// not a JSON object. It is the same test as the card schema's "if", so a body that validates is
// valid for the API CardModeOf names. The worker calls it on every card job: it reads no further
// than it must and decodes nothing but keys that hold escapes. Safe for concurrent use.
func CardModeOf(body []byte) CardMode {
	if hasField(body, cardModeField) {
		return CardDeliver
	}
	return CardTemplate
}

// hasField reports whether body is a JSON object with a top-level field named name, in one pass
// and without decoding values. name must be plain ASCII letters.
func hasField(body []byte, name string) bool {
	// A key can spell name only literally or with \u escapes (no other escape makes a letter):
	// a body that holds neither, as most template cards, needs no scan.
	if !bytes.Contains(body, []byte(name)) && !bytes.Contains(body, []byte(`\u`)) {
		return false
	}
	if fastjson.ValidateBytes(body) != nil { // the scan below relies on a valid document
		return false
	}
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	for i = skipSpace(body, i+1); i < len(body) && body[i] == '"'; i = skipSpace(body, i+1) {
		keyEnd := stringEnd(body, i+1)
		if keyIs(body[i:keyEnd+1], name) {
			return true
		}
		start := skipSpace(body, skipSpace(body, keyEnd+1)+1) // past the colon
		i = skipSpace(body, valueEnd(body, start))
		if i >= len(body) || body[i] != ',' {
			break
		}
	}
	return false
}
