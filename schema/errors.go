package schema

// Codes of a [ValidationError], one per check of [Validator.Validate]. They are stable: dingq puts
// them in a dead letter's Dingq-Error-Code header, and operators filter on them.
const (
	// CodeUnknownKind: the job's kind is none of [Kinds].
	CodeUnknownKind = "unknown_kind"
	// CodeAppHeader: the job carries a Dingq-App header that names an app other than its
	// subject's. The app comes from the subject ([Names.SendSubjectFor]).
	CodeAppHeader = "app_header"
	// CodeEmptyBody: the body is empty.
	CodeEmptyBody = "empty_body"
	// CodeTooLarge: the body is larger than [ValidatorConfig.MaxBodyBytes].
	CodeTooLarge = "too_large"
	// CodeInvalidUTF8: the body is not valid UTF-8.
	CodeInvalidUTF8 = "invalid_utf8"
	// CodeTooDeep: the body's JSON nests deeper than [MaxDepth] levels.
	CodeTooDeep = "too_deep"
	// CodeInvalidJSON: the body is not valid JSON, or not a JSON object.
	CodeInvalidJSON = "invalid_json"
	// CodeInvalidField: the body breaks its kind's JSON Schema, or a robot message is larger than
	// [MaxRobotMessageBytes]; Field and Rule say where and which rule.
	CodeInvalidField = "invalid_field"
)

// ValidationError says why a job is invalid. It never holds a value taken from the body (bodies
// carry secrets such as a robot's sk and webhook URL): only names from the schema, array indexes,
// sizes and types.
type ValidationError struct {
	// Code is one of the Code constants, e.g. [CodeInvalidField].
	Code string
	// Field is where in the body the rule failed, as a dotted path such as "cardData",
	// "send_message_model.content_type" or "data[0].markdown.title"; "(root)" for the body as a
	// whole. For a missing property it names that property. Empty when Code is not
	// [CodeInvalidField].
	Field string
	// Rule is the JSON Schema keyword that failed ("required", "type", "maxLength", "oneOf",
	// "contentMediaType", "enum", ...), or "maxBytes" for a robot message that is too large. Empty
	// when Code is not [CodeInvalidField].
	Rule string
	// Message is a short sentence for people.
	Message string
}

// Error reads like "invalid job: field outTrackId: required: missing property", or like
// "invalid job: empty_body: body is empty" when there is no field.
func (e *ValidationError) Error() string {
	s := "invalid job: "
	if e.Field != "" {
		s += "field " + e.Field + ": "
	}
	if e.Rule != "" {
		return s + e.Rule + ": " + e.Message
	}
	return s + e.Code + ": " + e.Message
}
