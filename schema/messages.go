package schema

import (
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// keyword is the JSON Schema keyword behind an error kind, the Rule of a [ValidationError].
func keyword(k jsonschema.ErrorKind) string {
	switch k.(type) {
	case *kind.FalseSchema:
		return "false"
	case *kind.Not:
		return "not"
	}
	if p := k.KeywordPath(); len(p) > 0 {
		return p[0]
	}
	return "schema"
}

// message words a failure for people. It reads only what the schema holds (limits, types,
// allowed values, property names), never the failing value: the library's own messages quote it,
// and bodies hold secrets.
func (v *Validator) message(e *jsonschema.ValidationError) string {
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		return "missing property"
	case *kind.Type:
		return fmt.Sprintf("got %s, want %s", k.Got, strings.Join(k.Want, " or "))
	case *kind.Enum:
		return "must be one of " + displayAll(k.Want)
	case *kind.Const:
		return "must be " + displayAll([]any{k.Want})
	case *kind.MinLength:
		if k.Want == 1 {
			return "must not be empty"
		}
		return fmt.Sprintf("shorter than %d characters", k.Want)
	case *kind.MaxLength:
		return fmt.Sprintf("longer than %d characters", k.Want)
	case *kind.MinItems:
		return fmt.Sprintf("has fewer than %d items", k.Want)
	case *kind.MaxItems:
		return fmt.Sprintf("has more than %d items", k.Want)
	case *kind.Pattern:
		return fmt.Sprintf("does not match the pattern %q", k.Want)
	case *kind.Format:
		return "is not a valid " + k.Want
	case *kind.ContentMediaType:
		return "must be a string holding valid " + k.Want
	case *kind.OneOf:
		if alt := v.alternatives(e.SchemaURL, "oneOf"); alt != "" {
			return "needs exactly one of " + alt
		}
		if len(k.Subschemas) > 0 {
			return "matches more than one alternative"
		}
		return "matches none of the alternatives"
	case *kind.AnyOf:
		if alt := v.alternatives(e.SchemaURL, "anyOf"); alt != "" {
			return "needs " + alt
		}
		return "matches none of the alternatives"
	case *kind.FalseSchema:
		return "is not allowed"
	}
	return "breaks the rule " + keyword(e.ErrorKind)
}

// displayAll lists schema values (allowed values, never the body's), strings quoted.
func displayAll(vals []any) string {
	s := make([]string, len(vals))
	for i, v := range vals {
		if str, ok := v.(string); ok {
			s[i] = fmt.Sprintf("%q", str)
		} else {
			s[i] = fmt.Sprint(v)
		}
	}
	return strings.Join(s, ", ")
}

// alternatives words what the branches of the oneOf or anyOf (keyword) in the schema at
// schemaURL require, when each branch is a plain "required": "openConversationId or
// singleChatReceiver", "singleTitle and singleURL, or btns". It returns "" otherwise.
func (v *Validator) alternatives(schemaURL, keyword string) string {
	node, _ := v.schemaNode(schemaURL).(map[string]any)
	branches, _ := node[keyword].([]any)
	var alts []string
	compound := false
	for _, b := range branches {
		br, _ := b.(map[string]any)
		req, _ := br["required"].([]any)
		if len(br) != 1 || len(req) == 0 {
			return ""
		}
		names := make([]string, len(req))
		for i, r := range req {
			names[i], _ = r.(string)
		}
		compound = compound || len(names) > 1
		alts = append(alts, strings.Join(names, " and "))
	}
	if compound {
		return strings.Join(alts, ", or ")
	}
	return strings.Join(alts, " or ")
}

// schemaNode returns the part of a parsed schema that schemaURL ($id#json-pointer) points to, or
// nil.
func (v *Validator) schemaNode(schemaURL string) any {
	base, toks, ok := splitSchemaURL(schemaURL)
	if !ok {
		return nil
	}
	return valueAt(v.docs[base], toks)
}
