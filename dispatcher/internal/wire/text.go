package wire

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// MaxMessage is the most bytes of a DingTalk message kept in an error, before the ellipsis.
const MaxMessage = 200

// Redacted replaces a secret found in an answer.
const Redacted = "[redacted]"

// Scrub returns b with every occurrence of each non-empty secret replaced by [Redacted]. It
// returns b itself, without copying, when no secret occurs in it.
func Scrub(b []byte, secrets ...string) []byte {
	for _, s := range secrets {
		if s != "" && bytes.Contains(b, []byte(s)) {
			b = bytes.ReplaceAll(b, []byte(s), []byte(Redacted))
		}
	}
	return b
}

// Line makes s fit for an error message and a message header: secrets replaced by [Redacted], the
// query string cut from every URL in it, invalid UTF-8 and control characters (newlines included)
// turned into spaces, surrounding space trimmed, and the rest cut on a rune boundary to at most
// [MaxMessage] bytes followed by "...".
func Line(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	s = stripQueries(s)
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == utf8.RuneError {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, " "))
	s = strings.TrimSpace(s)
	if len(s) <= MaxMessage {
		return s
	}
	cut := MaxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// stripQueries cuts the query string and fragment from every http(s) URL in s. A URL ends at a
// space, a quote or an angle bracket.
func stripQueries(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+3])
		s = s[i+3:]
		end := strings.IndexAny(s, " \t\r\n\"'<>")
		if end < 0 {
			end = len(s)
		}
		u := s[:end]
		if q := strings.IndexAny(u, "?#"); q >= 0 {
			u = u[:q]
		}
		b.WriteString(u)
		s = s[end:]
	}
}
