// Package status announces and keeps each job's final outcome, so that producers learn what
// became of a job without reading dingq's logs.
//
// A [Recorder] publishes every final outcome as a small JSON [Record] on core NATS, on
// "<prefix>.events.<kind>.<outcome>", and writes the same record to the key-value bucket
// "<PREFIX>_STATUS" under its kind and job id, where [Lookup] finds it. A failed attempt that
// will be retried is published too, as outcome "retried", and not kept: a job's status is its
// final outcome or pending. Both are fire and forget:
// the worker hands a record over without waiting, and a record that cannot be handed over (the
// buffer is full, NATS is away) is dropped and counted, never waited for. Status is a
// convenience for producers; the job stream and the dead letters stay the record of truth.
package status

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dingq/dingq/dispatcher/kv"
)

// Outcomes a record holds: a job's final results.
const (
	OutcomeSent      = "sent"      // DingTalk accepted the job
	OutcomeRejected  = "rejected"  // dead-lettered: DingTalk said the request is wrong
	OutcomeExhausted = "exhausted" // dead-lettered: attempts used up
	OutcomeInvalid   = "invalid"   // dead-lettered: failed validation, never sent
	OutcomeRetried   = "retried"   // an attempt failed and the job will be retried: an event only, not kept
)

// Record is a job's final outcome: the body of its event and of its status entry. It holds no
// job body, header or error text, so no secret.
type Record struct {
	JobID   string `json:"job_id"`
	Kind    string `json:"kind"`    // "card", or the unknown kind a job's subject named
	Outcome string `json:"outcome"` // an Outcome* constant
	// Code is DingTalk's or dingq's code for a dead letter; absent when sent.
	Code string `json:"code,omitempty"`
	// HTTPStatus is the last HTTP status of a failed send; absent when there was none.
	HTTPStatus int       `json:"http_status,omitempty"`
	Attempts   int       `json:"attempts"`   // sends tried
	At         time.Time `json:"at"`         // when the outcome was settled, UTC, to the millisecond
	StreamSeq  uint64    `json:"stream_seq"` // the job's sequence in the job stream
}

// Dead reports whether the job was dead-lettered.
func (r Record) Dead() bool {
	switch r.Outcome {
	case OutcomeRejected, OutcomeExhausted, OutcomeInvalid:
		return true
	}
	return false
}

// Key is the status bucket's key of a job: its kind and id, each hashed when it is empty, long, or
// holds a character a key may not (the sent-record's rule), e.g. "card.order-17".
func Key(kind, id string) string { return kv.Token(kind) + "." + kv.Token(id) }

// subjectToken makes a kind one subject token: a job sent to "dingq.send.a.b" has the kind
// "a.b", whose event goes to "dingq.events.a_b.invalid" so that "dingq.events.*.invalid" sees it.
func subjectToken(kind string) string {
	if kind == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '\t', '\r', '\n':
			return '_'
		}
		return r
	}, kind)
}

// appendJSON appends r as encoding/json would encode it (its At in UTC to the millisecond, as
// the recorder sets it), without reflection: a record per job sent.
func (r Record) appendJSON(b []byte) []byte {
	b = append(b, `{"job_id":`...)
	b = appendJSONString(b, r.JobID)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, r.Kind)
	b = append(b, `,"outcome":`...)
	b = appendJSONString(b, r.Outcome)
	if r.Code != "" {
		b = append(b, `,"code":`...)
		b = appendJSONString(b, r.Code)
	}
	if r.HTTPStatus != 0 {
		b = append(b, `,"http_status":`...)
		b = strconv.AppendInt(b, int64(r.HTTPStatus), 10)
	}
	b = append(b, `,"attempts":`...)
	b = strconv.AppendInt(b, int64(r.Attempts), 10)
	b = append(b, `,"at":"`...)
	b = r.At.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","stream_seq":`...)
	b = strconv.AppendUint(b, r.StreamSeq, 10)
	return append(b, '}')
}

// appendJSONString appends s as a JSON string: quotes and backslashes escaped, control
// characters as \u00XX, and invalid UTF-8 as U+FFFD, as encoding/json does (it also escapes
// <, > and & for HTML, which a JSON reader does not need).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
