package schema

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// The fast path accepts the common shape of a card job (in either mode), a cross-domain job or a
// robot job with a single-pass parser, several times cheaper than the JSON Schema validator,
// which is most of what a worker spends on a job of its own. It is one-sided: it says yes only to
// bodies the schema accepts (FuzzFastPath holds it to that against the schema itself), and
// whenever it is not sure (an unknown or repeated field, a null, a surrogate escape, an unusual
// number) it says no, and the schema decides and names the error. The JSON Schema files stay the
// contract.

// fastPath checks jobs; it is safe for concurrent use.
type fastPath struct {
	parsers fastjson.ParserPool
}

// valid reports whether body is certainly a valid job of kind k. For a robot job, its messages'
// sizes are checked apart (see checkRobotMessages).
func (fp *fastPath) valid(k Kind, body []byte) bool {
	if k != KindCard && k != KindCrossDomain && k != KindRobot {
		return false
	}
	if rawControl(body) || !numbersFit(body) || surrogateEscape(body) || fastjson.ValidateBytes(body) != nil {
		return false
	}
	p := fp.parsers.Get()
	defer fp.parsers.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil {
		return false
	}
	obj, err := v.Object()
	if err != nil {
		return false
	}
	switch {
	case k == KindCrossDomain:
		return fastCrossDomain(obj)
	case k == KindRobot:
		return fastRobot(obj)
	case obj.Get(cardModeField) != nil: // the schema's "if", as CardModeOf
		return fastDeliver(obj)
	}
	return fastCard(obj)
}

// fields checks each field of o with check, refusing repeated keys (encoding/json, which the
// schema path decodes with, keeps the last of them; fastjson the first).
func fields(o *fastjson.Object, check func(key []byte, v *fastjson.Value) bool) bool {
	ok := true
	var seenBuf [12][]byte
	seen := seenBuf[:0]
	o.Visit(func(key []byte, v *fastjson.Value) {
		if !ok {
			return
		}
		for _, s := range seen {
			if bytes.Equal(s, key) {
				ok = false
				return
			}
		}
		seen = append(seen, key)
		ok = check(key, v)
	})
	return ok
}

func fastCard(o *fastjson.Object) bool {
	ok := fields(o, func(key []byte, v *fastjson.Value) bool {
		switch string(key) {
		case "cardTemplateId", "openConversationId", "robotCode":
			return nonEmptyString(v)
		case "outTrackId":
			return idString(v, 64)
		case "callbackUrl":
			_, ok := stringOf(v)
			return ok
		case "cardData":
			return jsonStringOf(v, '{')
		case "singleChatReceiver":
			return receiverString(v)
		case "sendOptions":
			return sendOptions(v)
		}
		return false
	})
	group, single := o.Get("openConversationId") != nil, o.Get("singleChatReceiver") != nil
	return ok && present(o, "cardTemplateId", "outTrackId", "robotCode", "cardData") && group != single
}

// fastDeliver is a card in the deliver mode. The space and deliver models it knows are those of
// IM groups and robot chats, each with its common fields only.
func fastDeliver(o *fastjson.Object) bool {
	ok := fields(o, func(key []byte, v *fastjson.Value) bool {
		switch string(key) {
		case "cardTemplateId":
			return nonEmptyString(v)
		case "outTrackId":
			return idString(v, 64)
		case "openSpaceId":
			s, ok := stringOf(v)
			return ok && openSpaceID(s)
		case "cardData":
			return cardParams(v)
		case "callbackType", "callbackRouteKey", "userId":
			_, ok := stringOf(v)
			return ok
		case "userIdType":
			return smallInt(v)
		case "imGroupOpenSpaceModel", "imRobotOpenSpaceModel", "imSingleOpenSpaceModel":
			return openSpaceModel(v)
		case "imGroupOpenDeliverModel":
			return groupDeliverModel(v)
		case "imRobotOpenDeliverModel":
			return robotDeliverModel(v)
		}
		return false
	})
	return ok && present(o, "cardTemplateId", "outTrackId", cardModeField, "cardData")
}

func fastCrossDomain(o *fastjson.Object) bool {
	ok := fields(o, func(key []byte, v *fastjson.Value) bool {
		switch string(key) {
		case "sender":
			return nonEmptyString(v)
		case "message_id":
			return idString(v, 0)
		case "send_message_model":
			return sendMessageModel(v)
		case "message_receiver_scope_model":
			return receiverScope(v)
		case "new_conversation_notification_off":
			return v.Type() == fastjson.TypeTrue || v.Type() == fastjson.TypeFalse
		}
		return false
	})
	return ok && present(o, "sender", "message_id", "send_message_model")
}

func sendMessageModel(v *fastjson.Value) bool {
	o, err := v.Object()
	if err != nil {
		return false
	}
	ok := fields(o, func(key []byte, v *fastjson.Value) bool {
		switch string(key) {
		case "conversation_type":
			return smallInt(v)
		case "content_type":
			n := rawNumber(v)
			return n == "1" || n == "2"
		case "uuid", "cid":
			return nonEmptyString(v)
		case "content":
			return jsonStringOf(v, '{')
		}
		return false
	})
	return ok && present(o, "conversation_type", "uuid", "content_type", "content", "cid")
}

func receiverScope(v *fastjson.Value) bool {
	o, err := v.Object()
	if err != nil {
		return false
	}
	return fields(o, func(key []byte, v *fastjson.Value) bool {
		items, err := v.Array()
		if string(key) != "actual_receivers" || err != nil {
			return false
		}
		for _, it := range items {
			if _, ok := stringOf(it); !ok {
				return false
			}
		}
		return true
	})
}

func sendOptions(v *fastjson.Value) bool {
	o, err := v.Object()
	if err != nil {
		return false
	}
	return fields(o, func(key []byte, v *fastjson.Value) bool {
		switch string(key) {
		case "atAll":
			return v.Type() == fastjson.TypeTrue || v.Type() == fastjson.TypeFalse
		case "atUserListJson", "receiverListJson", "cardPropertyJson":
			return jsonStringOf(v, 0)
		}
		return false
	})
}

// cardParams is a deliver card's cardData: {"cardParamMap": {string: string}}.
func cardParams(v *fastjson.Value) bool {
	o, err := v.Object()
	if err != nil {
		return false
	}
	ok := fields(o, func(key []byte, v *fastjson.Value) bool {
		return string(key) == "cardParamMap" && stringMap(v)
	})
	return ok && present(o, "cardParamMap")
}

func openSpaceModel(v *fastjson.Value) bool {
	o, err := v.Object()
	if err != nil {
		return false
	}
	return fields(o, func(key []byte, v *fastjson.Value) bool {
		switch string(key) {
		case "supportForward":
			return v.Type() == fastjson.TypeTrue || v.Type() == fastjson.TypeFalse
		case "lastMessageI18n":
			return stringMap(v)
		}
		return false
	})
}

func groupDeliverModel(v *fastjson.Value) bool {
	o, err := v.Object()
	if err != nil {
		return false
	}
	return fields(o, func(key []byte, v *fastjson.Value) bool {
		switch string(key) {
		case "robotCode":
			return nonEmptyString(v)
		case "atUserIds", "extension":
			return stringMap(v)
		case "recipients":
			return stringArray(v)
		}
		return false
	})
}

func robotDeliverModel(v *fastjson.Value) bool {
	o, err := v.Object()
	if err != nil {
		return false
	}
	return fields(o, func(key []byte, v *fastjson.Value) bool {
		switch string(key) {
		case "spaceType", "robotCode":
			_, ok := stringOf(v)
			return ok
		case "extension":
			return stringMap(v)
		}
		return false
	})
}

// maxFastKeys bounds the objects of any keys that the fast path reads; a larger one takes the
// schema path, so that checking its keys for repeats (quadratic) stays cheap.
const maxFastKeys = 64

// stringMap is an object whose values are all strings. A repeated key needs no care here: every
// value is checked, so whichever one a decoder keeps is a string.
func stringMap(v *fastjson.Value) bool {
	o, err := v.Object()
	if err != nil || o.Len() > maxFastKeys {
		return false
	}
	ok := true
	o.Visit(func(_ []byte, v *fastjson.Value) {
		if ok {
			_, ok = stringOf(v)
		}
	})
	return ok
}

func stringArray(v *fastjson.Value) bool {
	items, err := v.Array()
	if err != nil {
		return false
	}
	for _, it := range items {
		if _, ok := stringOf(it); !ok {
			return false
		}
	}
	return true
}

// openSpaceID is the schema's pattern for openSpaceId,
// ^dtv1\.card//[A-Za-z_]+\.[^;]+(;[A-Za-z_]+\.[^;]+)*$: the prefix, then one or more
// spaceType.spaceId separated by ';'.
func openSpaceID(s []byte) bool {
	rest, ok := bytes.CutPrefix(s, []byte("dtv1.card//"))
	if !ok {
		return false
	}
	for space := range bytes.SplitSeq(rest, []byte{';'}) {
		i := 0
		for i < len(space) && spaceTypeByte(space[i]) {
			i++
		}
		if i == 0 || i+1 >= len(space) || space[i] != '.' {
			return false
		}
	}
	return true
}

// spaceTypeByte is [A-Za-z_], what a space type is made of.
func spaceTypeByte(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_' }

// receiverString is singleChatReceiver: a string holding an object with a non-empty userId or
// unionId string (and no other type for either).
func receiverString(v *fastjson.Value) bool {
	s, ok := stringOf(v)
	if !ok || !jsonContent(s, '{') {
		return false
	}
	var p fastjson.Parser
	inner, err := p.ParseBytes(s)
	if err != nil {
		return false
	}
	o, err := inner.Object()
	if err != nil {
		return false
	}
	ok = fields(o, func(key []byte, v *fastjson.Value) bool {
		if k := string(key); k == "userId" || k == "unionId" {
			return nonEmptyString(v)
		}
		return true
	})
	return ok && (o.Get("userId") != nil || o.Get("unionId") != nil)
}

// stringOf returns a string's value, or false for any other type.
func stringOf(v *fastjson.Value) ([]byte, bool) {
	if v.Type() != fastjson.TypeString {
		return nil, false
	}
	s, err := v.StringBytes()
	if err != nil {
		return nil, false
	}
	return s, utf8.Valid(s)
}

// surrogateEscape reports a \uD800-\uDFFF escape anywhere in b. encoding/json (the schema path)
// and fastjson decode a broken surrogate pair differently, so such bodies take the schema path;
// other escapes, such as the \u4e2d of non-ASCII text, decode alike.
func surrogateEscape(b []byte) bool {
	for i := bytes.Index(b, []byte(`\u`)); i >= 0 && i+3 < len(b); {
		if c, d := b[i+2], b[i+3]; (c == 'd' || c == 'D') && (d >= '8' && d <= '9' || d >= 'a' && d <= 'f' || d >= 'A' && d <= 'F') {
			return true
		}
		j := bytes.Index(b[i+2:], []byte(`\u`))
		if j < 0 {
			break
		}
		i += 2 + j
	}
	return false
}

func nonEmptyString(v *fastjson.Value) bool {
	s, ok := stringOf(v)
	return ok && len(s) > 0
}

// idString is an id: non-empty, at most max characters (0: no limit), no control character.
func idString(v *fastjson.Value, max int) bool {
	s, ok := stringOf(v)
	if !ok || len(s) == 0 || (max > 0 && utf8.RuneCount(s) > max) {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// jsonStringOf is a string holding JSON (contentMediaType application/json), whose first byte is
// first when first is not 0 ('{' where contentSchema says type object).
func jsonStringOf(v *fastjson.Value, first byte) bool {
	s, ok := stringOf(v)
	return ok && jsonContent(s, first)
}

// jsonContent is what the schema library accepts as application/json, which it checks with
// encoding/json: valid syntax and no number out of float64's range. Content nested deeper than
// MaxDepth takes the schema path: fastjson words a syntax error once per level, each time quoting
// the rest of the input, so 20 KB of '[' took seconds.
func jsonContent(b []byte, first byte) bool {
	if rawControl(b) || tooDeep(b, MaxDepth) || fastjson.ValidateBytes(b) != nil || !numbersFit(b) {
		return false
	}
	b = bytes.TrimLeft(b, " \t\n\r")
	return len(b) > 0 && (first == 0 || b[0] == first)
}

// rawControl reports a control character inside a string, or one other than JSON's whitespace
// (tab, newline, carriage return) outside. JSON allows none inside a string and encoding/json (the
// schema path) refuses them, but fastjson lets them through: the fuzzer found a card whose
// cardTemplateId held a raw backspace taking the fast path.
func rawControl(b []byte) bool {
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c < 0x20 && (inString || c != '\t' && c != '\n' && c != '\r'):
			return true
		case c == '"':
			inString = !inString
		case c == '\\' && inString:
			i++ // skip the escaped byte, unless it is itself a raw control character
			if i < len(b) && b[i] < 0x20 {
				return true
			}
		}
	}
	return false
}

func rawNumber(v *fastjson.Value) string {
	if v.Type() != fastjson.TypeNumber {
		return ""
	}
	return string(v.MarshalTo(nil))
}

// smallInt is an integer literal of at most 15 digits: certainly an integer, certainly in range.
func smallInt(v *fastjson.Value) bool {
	s := rawNumber(v)
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if s == "" || len(s) > 15 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func present(o *fastjson.Object, keys ...string) bool {
	for _, k := range keys {
		if o.Get(k) == nil {
			return false
		}
	}
	return true
}

// numbersFit reports whether every number literal outside strings parses as a float64, as
// encoding/json requires when it decodes into any. Short literals without an exponent always fit
// and are not parsed.
func numbersFit(b []byte) bool {
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			i = stringEnd(b, i+1) // at the closing quote, or past the end if there is none
		case c == '-' || (c >= '0' && c <= '9'):
			j, long := i, false
			for j < len(b) && (b[j] == '-' || b[j] == '+' || b[j] == '.' || b[j] == 'e' || b[j] == 'E' || (b[j] >= '0' && b[j] <= '9')) {
				long = long || b[j] == 'e' || b[j] == 'E'
				j++
			}
			if long || j-i > 15 {
				if _, err := strconv.ParseFloat(string(b[i:j]), 64); err != nil {
					return false
				}
			}
			i = j - 1
		}
	}
	return true
}
