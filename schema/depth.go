package schema

// MaxDepth is how deeply a job's JSON may nest objects and arrays; the body itself is level 1.
// Real jobs nest at most 5 levels; the limit keeps hostile input from costing stack in the
// decoder and the schema validator.
const MaxDepth = 32

// tooDeep reports whether body nests objects and arrays deeper than max. It scans the bytes
// without decoding them, skipping the insides of strings, so it is cheap and needs no stack. It
// does not check that body is valid JSON; brackets that do not balance are the decoder's concern.
func tooDeep(body []byte, max int) bool {
	depth := 0
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '{', '[':
			depth++
			if depth > max {
				return true
			}
		case '}', ']':
			depth--
		case '"':
			i = stringEnd(body, i+1)
		}
	}
	return false
}

// stringEnd returns the index of the quote that closes the string starting at body[start], or
// len(body) when there is none.
func stringEnd(body []byte, start int) int {
	for i := start; i < len(body); i++ {
		switch body[i] {
		case '"':
			return i
		case '\\':
			i++ // skip the byte it escapes
		}
	}
	return len(body)
}
