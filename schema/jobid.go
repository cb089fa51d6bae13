package schema

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// JobID returns a job's id: msgID (the producer's Nats-Msg-Id) when it is set, otherwise one
// derived from the body: a card's outTrackId, a cross-domain message's message_id, and for a robot
// message (or any body that lacks its id field or is not JSON) "sha256-" and the first 16 bytes of
// the body's SHA-256 in hex. It never fails, so that even an invalid job can be named in its dead
// letter. A derived id that is longer than 256 bytes or holds a control character is replaced by
// the body's hash too: the id travels in NATS headers, where a CR or LF would break the message.
func JobID(kind Kind, msgID string, body []byte) string {
	if msgID != "" {
		return msgID
	}
	var id string
	switch kind {
	case KindCard:
		id = stringField(body, "outTrackId")
	case KindCrossDomain:
		id = stringField(body, "message_id")
	}
	if id != "" && len(id) <= maxDerivedID && !hasControl(id) {
		return id
	}
	return BodyHash(body)
}

// maxDerivedID caps an id taken from a body; DingTalk's own ids are at most 64 characters.
const maxDerivedID = 256

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// BodyHash is the id of a job that carries none: "sha256-" and the first 16 bytes of the body's
// SHA-256 in hex.
func BodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256-" + hex.EncodeToString(sum[:16])
}

// stringField reads a top-level string field by its exact name, the last one where a name repeats
// (as encoding/json would), in one pass over the body and without decoding the rest: the worker
// names every job it takes, so this is on its hot path. A body that is not valid JSON, or a field
// that is not a string, gives "".
func stringField(body []byte, name string) string {
	if fastjson.ValidateBytes(body) != nil {
		return ""
	}
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return ""
	}
	value := ""
	for i = skipSpace(body, i+1); i < len(body) && body[i] == '"'; i = skipSpace(body, i+1) {
		keyEnd := stringEnd(body, i+1)
		key := body[i : keyEnd+1]
		start := skipSpace(body, skipSpace(body, keyEnd+1)+1) // past the colon
		end := valueEnd(body, start)
		if keyIs(key, name) {
			value = stringToken(body[start:end])
		}
		i = skipSpace(body, end)
		if i >= len(body) || body[i] != ',' {
			break
		}
	}
	return value
}

// keyIs reports whether the key token (quotes included) names name.
func keyIs(key []byte, name string) bool {
	if plainToken(key) {
		return string(key[1:len(key)-1]) == name
	}
	return stringToken(key) == name
}

// stringToken decodes a JSON string token, or gives "" for any other token.
func stringToken(tok []byte) string {
	if len(tok) < 2 || tok[0] != '"' {
		return ""
	}
	if plainToken(tok) {
		return string(tok[1 : len(tok)-1])
	}
	var s string
	if json.Unmarshal(tok, &s) != nil {
		return ""
	}
	return s
}

// plainToken reports a string token that reads as its bytes: no escape, valid UTF-8 (encoding/json
// turns invalid UTF-8 into U+FFFD; such tokens are decoded the way it does).
func plainToken(tok []byte) bool {
	return bytes.IndexByte(tok, '\\') < 0 && utf8.Valid(tok)
}

// valueEnd returns the index just past the JSON value starting at i in a valid document.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i+1) + 1
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i+1)
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(b) && !bytes.ContainsRune([]byte(",}] \t\n\r"), rune(b[i])) {
		i++
	}
	return i
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
