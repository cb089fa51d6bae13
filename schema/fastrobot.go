package schema

import (
	"bytes"
	"net/url"
	"strings"

	"github.com/valyala/fastjson"
)

// The robot schema lets every object carry fields it does not name, so the fast path of a robot
// job checks the fields the schema names and passes the others through, as the schema does. Like
// the card path it is one-sided: whatever it is unsure of (a link that is not a plain http(s)
// URL, an object of more than maxFastKeys keys) goes to the schema.

// fastRobot is a robot job: a webhook (link, with an optional sk) or a named robot, and data.
func fastRobot(o *fastjson.Object) bool {
	ok := robotFields(o, func(key []byte, v *fastjson.Value) bool {
		switch string(key) {
		case "link":
			return webhookLink(v)
		case "sk":
			_, ok := stringOf(v)
			return ok
		case "robot":
			return robotName(v)
		case "data":
			return robotMessages(v)
		}
		return true
	})
	if !ok || o.Get("data") == nil {
		return false
	}
	if o.Get("robot") != nil { // the named form takes neither link nor sk
		return o.Get("link") == nil && o.Get("sk") == nil
	}
	return o.Get("link") != nil
}

// robotFields is fields for an object that may hold fields the schema does not name: each key is
// checked, the unnamed ones by returning true, and an object of more than maxFastKeys keys goes
// to the schema.
func robotFields(o *fastjson.Object, check func(key []byte, v *fastjson.Value) bool) bool {
	return o.Len() <= maxFastKeys && fields(o, check)
}

// robotObject is v as an object whose named fields pass check, and which holds each of required.
func robotObject(v *fastjson.Value, check func(key []byte, v *fastjson.Value) bool, required ...string) bool {
	o, err := v.Object()
	return err == nil && robotFields(o, check) && present(o, required...)
}

// webhookLink is the schema's link: a string matching ^https?://[^\s]+$ that Go's url.Parse, as
// the schema's "uri" format, takes for an absolute URL. A host holding a ':' (an IPv6 address,
// which the format checks further) goes to the schema.
func webhookLink(v *fastjson.Value) bool {
	s, ok := stringOf(v)
	if !ok {
		return false
	}
	rest, ok := bytes.CutPrefix(s, []byte("https://"))
	if !ok {
		if rest, ok = bytes.CutPrefix(s, []byte("http://")); !ok {
			return false
		}
	}
	if len(rest) == 0 || bytes.ContainsAny(rest, "\t\n\f\r ") { // RE2's \s
		return false
	}
	u, err := url.Parse(string(s))
	return err == nil && u.IsAbs() && !strings.Contains(u.Hostname(), ":")
}

// robotName is the name of a configured robot: 1 to 64 of [A-Za-z0-9_-].
func robotName(v *fastjson.Value) bool {
	s, ok := stringOf(v)
	if !ok || len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// robotMessages is data: at least one message.
func robotMessages(v *fastjson.Value) bool { return nonEmptyArray(v, robotMessage) }

// nonEmptyArray is a non-empty array whose every item passes each.
func nonEmptyArray(v *fastjson.Value, each func(*fastjson.Value) bool) bool {
	items, err := v.Array()
	if err != nil || len(items) == 0 {
		return false
	}
	for _, it := range items {
		if !each(it) {
			return false
		}
	}
	return true
}

// robotMessage is one message: a msgtype of the five, the member it names, and every member the
// schema names valid whether msgtype names it or not.
func robotMessage(v *fastjson.Value) bool {
	o, err := v.Object()
	if err != nil {
		return false
	}
	ok := robotFields(o, func(key []byte, v *fastjson.Value) bool {
		switch string(key) {
		case "msgtype":
			s, ok := stringOf(v)
			return ok && isRobotMsgType(string(s))
		case "text":
			return robotObject(v, nonEmptyStrings("content"), "content")
		case "markdown":
			return robotObject(v, nonEmptyStrings("title", "text"), "title", "text")
		case "link":
			return robotObject(v, linkMessageField, "title", "text", "messageUrl")
		case "actionCard":
			return actionCard(v)
		case "feedCard":
			return robotObject(v, func(key []byte, v *fastjson.Value) bool {
				return string(key) != "links" || objectArray(v, nonEmptyStrings("title", "messageURL", "picURL"), "title", "messageURL", "picURL")
			}, "links")
		case "at":
			return robotObject(v, atField)
		case "msgUuid":
			_, ok := stringOf(v)
			return ok
		}
		return true
	})
	if !ok {
		return false
	}
	t := o.Get("msgtype")
	if t == nil {
		return false
	}
	s, _ := stringOf(t)
	return o.Get(string(s)) != nil
}

func isRobotMsgType(s string) bool {
	switch s {
	case "text", "markdown", "link", "actionCard", "feedCard":
		return true
	}
	return false
}

// nonEmptyStrings checks that each of names, where present, is a non-empty string, and passes
// other fields through.
func nonEmptyStrings(names ...string) func(key []byte, v *fastjson.Value) bool {
	return func(key []byte, v *fastjson.Value) bool {
		for _, n := range names {
			if string(key) == n {
				return nonEmptyString(v)
			}
		}
		return true
	}
}

func linkMessageField(key []byte, v *fastjson.Value) bool {
	switch string(key) {
	case "title", "text", "messageUrl":
		return nonEmptyString(v)
	case "picUrl":
		_, ok := stringOf(v)
		return ok
	}
	return true
}

// actionCard has a title and text, and one button (singleTitle and singleURL) or several (btns).
func actionCard(v *fastjson.Value) bool {
	o, err := v.Object()
	if err != nil {
		return false
	}
	ok := robotFields(o, func(key []byte, v *fastjson.Value) bool {
		switch string(key) {
		case "title", "text", "singleTitle", "singleURL":
			return nonEmptyString(v)
		case "btns":
			return objectArray(v, nonEmptyStrings("title", "actionURL"), "title", "actionURL")
		case "btnOrientation":
			s, ok := stringOf(v)
			return ok && (string(s) == "0" || string(s) == "1")
		}
		return true
	})
	return ok && present(o, "title", "text") && (present(o, "singleTitle", "singleURL") || present(o, "btns"))
}

// objectArray is a non-empty array of objects whose named fields pass check, each holding every
// one of required.
func objectArray(v *fastjson.Value, check func(key []byte, v *fastjson.Value) bool, required ...string) bool {
	return nonEmptyArray(v, func(it *fastjson.Value) bool { return robotObject(it, check, required...) })
}

// atField checks the mentions: at most 50 mobiles and 50 userIds, as strings, and isAtAll.
func atField(key []byte, v *fastjson.Value) bool {
	switch string(key) {
	case "atMobiles", "atUserIds":
		items, err := v.Array()
		return err == nil && len(items) <= 50 && stringArray(v)
	case "isAtAll":
		return v.Type() == fastjson.TypeTrue || v.Type() == fastjson.TypeFalse
	}
	return true
}
