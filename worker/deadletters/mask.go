package deadletters

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/nats-io/nats.go"
)

// Masking: what `dingq dlq show` prints of a dead letter without --reveal. A letter holds the
// job as published, and a robot job carries its robot's signing secret (sk) and webhook token.

// Masked stands in for a secret's value in a [Mask]ed letter: the same marker the configuration's
// String and the dispatcher's errors use.
const Masked = "[redacted]"

// Mask returns l with the values of its secrets replaced by [Masked], and whether any was:
// in the body (see [maskBody]), in every header value that carries an access_token or sk query
// parameter (the whole value of a header named sk or access_token), and in the error. l itself,
// which the store may share, is not changed.
func Mask(l Letter) (Letter, bool) {
	var changed bool
	if l.Header != nil {
		h := make(nats.Header, len(l.Header))
		for k, vs := range l.Header {
			out := make([]string, len(vs))
			for i, v := range vs {
				if isSecretName(k) && v != "" {
					out[i] = Masked
				} else {
					out[i] = maskQuery(v)
				}
				changed = changed || out[i] != v
			}
			h[k] = out
		}
		l.Header = h
	}
	if e := maskQuery(l.Error); e != l.Error {
		l.Error, changed = e, true
	}
	if b := maskBody(l.Data); !bytes.Equal(b, l.Data) {
		l.Data, changed = b, true
	}
	return l, changed
}

// maskBody returns a job's body with the value of every member named sk or access_token (in any
// case, at any depth) replaced by [Masked], and in every other string the value of each
// access_token and sk query parameter. A member whose value is null or "" is kept: it shows that
// the secret is not set. The rest of the body is kept byte for byte, and JSON stays valid. A body
// that is not JSON (one truncated to be stored, say) is Masked as text: access_token=... and
// sk=... and "sk": "..." and "access_token": "..." wherever they occur. The result is body itself
// when nothing was Masked.
func maskBody(body []byte) []byte {
	if len(body) == 0 {
		return body
	}
	if json.Valid(body) {
		return maskJSON(body)
	}
	out := secretMember.ReplaceAll(body, []byte("${1}"+Masked))
	out = secretQuery.ReplaceAll(out, []byte("${1}="+Masked))
	if bytes.Equal(out, body) {
		return body
	}
	return out
}

var (
	// secretQuery is an access_token or sk query parameter and its value, which ends where the
	// parameter, the URL, a string or an escape (\u0026 for '&' in JSON) does.
	secretQuery = regexp.MustCompile(`(?i)\b(access_token|sk)=[^&#\s"'<>\\]+`)
	// secretMember is a JSON member named sk or access_token with a string value that is not
	// empty, and may be cut short with its body; group 1 is all before the value.
	secretMember = regexp.MustCompile(`(?is)("(?:access_token|sk)"\s*:\s*")(?:[^"\\]|\\.)+`)
)

// maskQuery replaces the value of every access_token and sk query parameter in s by [Masked].
func maskQuery(s string) string {
	if !secretQuery.MatchString(s) {
		return s
	}
	return secretQuery.ReplaceAllString(s, "${1}="+Masked)
}

// isSecretName reports a JSON member or header whose value is a secret.
func isSecretName(name string) bool {
	return strings.EqualFold(name, "sk") || strings.EqualFold(name, "access_token")
}

// maskJSON is maskBody of a valid JSON text. It walks the text's tokens and splices the Masked
// values in at their offsets, so that whitespace, key order and escapes elsewhere are kept.
func maskJSON(data []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var (
		out  []byte // nil until something is Masked
		kept int    // data[:kept] is in out
		prev int    // where the last token ended
		// objects[i] is set when the container at depth i+1 is an object, and wantKey[i] when
		// that object expects a key next.
		objects, wantKey []bool
		secret           bool // the next value is a secret member's
		whole            = -1 // where a secret object or array value starts, while it is skipped
		depth            int  // the depth of that value
	)
	replace := func(start, end int, with []byte) {
		out = append(append(out, data[kept:start]...), with...)
		kept = end
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			break // io.EOF: data is valid JSON, so there is no other error
		}
		end := int(dec.InputOffset())
		start := prev + len(data[prev:end]) - len(bytes.TrimLeft(data[prev:end], " \t\r\n,:"))
		prev = end
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' || t == '[' {
				if secret && whole < 0 {
					whole, depth = start, len(objects)
				}
				objects = append(objects, t == '{')
				wantKey = append(wantKey, t == '{')
				continue
			}
			objects, wantKey = objects[:len(objects)-1], wantKey[:len(wantKey)-1]
			if whole >= 0 && len(objects) == depth {
				replace(whole, end, jsonString(Masked))
				whole, secret = -1, false
			}
		default:
			n := len(objects)
			if n > 0 && objects[n-1] && wantKey[n-1] {
				wantKey[n-1] = false
				if whole < 0 {
					secret = isSecretName(t.(string))
				}
				continue
			}
			switch {
			case whole >= 0: // inside a secret value, Masked as a whole
			case secret:
				secret = false
				switch v := t.(type) {
				case string:
					if v != "" {
						replace(start, end, jsonString(Masked))
					}
				case json.Number:
					replace(start, end, jsonString(Masked))
				}
			default:
				if v, ok := t.(string); ok {
					if m := maskQuery(v); m != v {
						replace(start, end, jsonString(m))
					}
				}
			}
		}
		if n := len(objects); n > 0 && objects[n-1] {
			wantKey[n-1] = true
		}
	}
	if out == nil {
		return data
	}
	return append(out, data[kept:]...)
}

// jsonString is s as a JSON string, with no HTML escapes: "<" stays "<".
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
