package schema

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// DefaultMaxBodyBytes is the largest job body a [Validator] accepts when its config sets none:
// 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

// ValidatorConfig configures a [Validator].
type ValidatorConfig struct {
	// MaxBodyBytes is the largest body accepted, in bytes. Default [DefaultMaxBodyBytes] (1 MiB)
	// when 0; negative is an error.
	MaxBodyBytes int
}

func (c ValidatorConfig) withDefaults() ValidatorConfig {
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return c
}

func (c ValidatorConfig) validate() error {
	if c.MaxBodyBytes < 0 {
		return fmt.Errorf("schema: MaxBodyBytes is %d, want 0 (the default) or more", c.MaxBodyBytes)
	}
	return nil
}

// Validator checks job bodies against their kind's JSON Schema and dingq's own limits before any
// send. It compiles the schemas once, in [NewValidator]; after that it is read-only and safe for
// concurrent use.
type Validator struct {
	cfg     ValidatorConfig
	schemas map[Kind]*jsonschema.Schema
	docs    map[string]any // each schema's parsed JSON by $id, to word errors
	fast    *fastPath
}

// NewValidator compiles the three kinds' schemas. It fails only on a bad config (or on an
// embedded schema that does not compile, which the package's tests rule out).
func NewValidator(cfg ValidatorConfig) (*Validator, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	schemas, docs, err := compileSchemas()
	if err != nil {
		return nil, err
	}
	return &Validator{cfg: cfg.withDefaults(), schemas: schemas, docs: docs, fast: &fastPath{}}, nil
}

// Validate checks body as a job of kind k and returns nil or a *[ValidationError]. The checks run
// in this order, and the first that fails decides the Code: a known kind ([CodeUnknownKind]), a
// non-empty body ([CodeEmptyBody]), at most MaxBodyBytes ([CodeTooLarge]), valid UTF-8
// ([CodeInvalidUTF8]), nested at most [MaxDepth] levels ([CodeTooDeep]), a JSON object
// ([CodeInvalidJSON]), the kind's schema ([CodeInvalidField]), and for a robot job each message
// at most [MaxRobotMessageBytes] ([CodeInvalidField], Rule "maxBytes"). The error never quotes
// the body.
func (v *Validator) Validate(k Kind, body []byte) error {
	sch, ok := v.schemas[k]
	if !ok {
		return &ValidationError{Code: CodeUnknownKind, Message: fmt.Sprintf("unknown job kind %q", k)}
	}
	if err := v.checkBytes(body); err != nil {
		return err
	}
	if v.fast.valid(k, body) {
		if k == KindRobot {
			return checkRobotMessages(body)
		}
		return nil
	}
	return v.validateSchema(k, sch, body)
}

// validateSchema validates body against the kind's JSON Schema: the full check, and the one that
// names the field and rule of an error.
func (v *Validator) validateSchema(k Kind, sch *jsonschema.Schema, body []byte) error {
	doc, err := decodeObject(body)
	if err != nil {
		return err
	}
	if err := sch.Validate(doc); err != nil {
		var verr *jsonschema.ValidationError
		if !errors.As(err, &verr) {
			return &ValidationError{Code: CodeInvalidField, Field: rootField, Rule: "schema", Message: "does not match the schema"}
		}
		return v.violation(doc, verr)
	}
	if k == KindRobot {
		return checkRobotMessages(body)
	}
	return nil
}

// checkBytes runs the checks that need no decoding: size, encoding and depth.
func (v *Validator) checkBytes(body []byte) error {
	switch {
	case len(body) == 0:
		return &ValidationError{Code: CodeEmptyBody, Message: "body is empty"}
	case len(body) > v.cfg.MaxBodyBytes:
		return &ValidationError{Code: CodeTooLarge, Message: fmt.Sprintf("body is %d bytes, more than the limit of %d", len(body), v.cfg.MaxBodyBytes)}
	case !utf8.Valid(body):
		return &ValidationError{Code: CodeInvalidUTF8, Message: "body is not valid UTF-8"}
	case tooDeep(body, MaxDepth):
		return &ValidationError{Code: CodeTooDeep, Message: fmt.Sprintf("body nests deeper than %d levels", MaxDepth)}
	}
	return nil
}
