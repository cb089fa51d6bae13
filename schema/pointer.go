package schema

import (
	"net/url"
	"strconv"
	"strings"
)

// splitSchemaURL splits a schema location, $id#json-pointer, into the $id and the pointer's
// unescaped tokens.
func splitSchemaURL(schemaURL string) (base string, toks []string, ok bool) {
	base, frag, _ := strings.Cut(schemaURL, "#")
	frag, err := url.PathUnescape(frag)
	if err != nil {
		return "", nil, false
	}
	if frag == "" {
		return base, nil, true
	}
	toks = strings.Split(strings.TrimPrefix(frag, "/"), "/")
	for i, tok := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
	}
	return base, toks, true
}

// propertyChain returns the instance location that the schema at schemaURL validates when its
// pointer is a chain of properties, /properties/a/properties/b -> [a b]; otherwise nil, the root.
func propertyChain(schemaURL string) []string {
	_, toks, ok := splitSchemaURL(schemaURL)
	if !ok || len(toks)%2 != 0 {
		return nil
	}
	loc := make([]string, 0, len(toks)/2)
	for i := 0; i < len(toks); i += 2 {
		if toks[i] != "properties" {
			return nil
		}
		loc = append(loc, toks[i+1])
	}
	return loc
}

// valueAt returns the value at loc in a decoded JSON document, or nil.
func valueAt(doc any, loc []string) any {
	for _, tok := range loc {
		switch v := doc.(type) {
		case map[string]any:
			doc = v[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) {
				return nil
			}
			doc = v[i]
		default:
			return nil
		}
	}
	return doc
}
