package schema

import (
	"bytes"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compileSchemas compiles each kind's embedded schema, asserting format (the robot's link must be
// a URI) and content (cardData and the other JSON-in-a-string fields must hold JSON of the right
// shape), which draft 2020-12 leaves off by default. It also returns each schema's parsed JSON by
// $id.
func compileSchemas() (map[Kind]*jsonschema.Schema, map[string]any, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.AssertContent()
	docs := make(map[string]any, len(Kinds()))
	for _, k := range Kinds() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(SchemaJSON(k)))
		if err != nil {
			return nil, nil, fmt.Errorf("schema: parse %s: %w", schemaPath(k), err)
		}
		if err := c.AddResource(schemaURL(k), doc); err != nil {
			return nil, nil, fmt.Errorf("schema: add %s: %w", schemaPath(k), err)
		}
		docs[schemaURL(k)] = doc
	}
	schemas := make(map[Kind]*jsonschema.Schema, len(Kinds()))
	for _, k := range Kinds() {
		sch, err := c.Compile(schemaURL(k))
		if err != nil {
			return nil, nil, fmt.Errorf("schema: compile %s: %w", schemaPath(k), err)
		}
		schemas[k] = sch
	}
	return schemas, docs, nil
}
