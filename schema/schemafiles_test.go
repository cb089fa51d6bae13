package schema

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestSchemaJSON(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(string(k), func(t *testing.T) {
			var doc struct {
				Schema      string `json:"$schema"`
				ID          string `json:"$id"`
				Title       string `json:"title"`
				Description string `json:"description"`
			}
			if err := json.Unmarshal(SchemaJSON(k), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Schema != "https://json-schema.org/draft/2020-12/schema" {
				t.Errorf("$schema = %q", doc.Schema)
			}
			if want := "https://dingq.dev/schema/" + string(k) + ".schema.json"; doc.ID != want {
				t.Errorf("$id = %q, want %q", doc.ID, want)
			}
			if doc.Title == "" || doc.Description == "" {
				t.Error("no title or description")
			}
			b := SchemaJSON(k)
			b[0] = 'x'
			if SchemaJSON(k)[0] != '{' {
				t.Error("SchemaJSON returns shared bytes")
			}
		})
	}
	for _, k := range []Kind{"", "sms", "../card", "card.schema.json"} {
		if b := SchemaJSON(k); b != nil {
			t.Errorf("SchemaJSON(%q) = %d bytes, want nil", k, len(b))
		}
	}
}

// Every property in the schemas says what it is (those in an "if" only pick a branch).
func TestSchemaDescriptions(t *testing.T) {
	for _, k := range Kinds() {
		var doc any
		if err := json.Unmarshal(SchemaJSON(k), &doc); err != nil {
			t.Fatal(err)
		}
		walkSchema(doc, "#", func(ptr string, node map[string]any) {
			if strings.Contains(ptr, "/if") {
				return
			}
			props, _ := node["properties"].(map[string]any)
			for name, p := range props {
				p, _ := p.(map[string]any)
				if _, ok := p["description"]; !ok && p["$ref"] == nil {
					t.Errorf("%s: %s/properties/%s has no description", k, ptr, name)
				}
			}
		})
	}
}

// Validate reads a contentSchema failure's location off the schema, which works only where
// contentSchema sits under a chain of properties (see location).
func TestContentSchemaPlacement(t *testing.T) {
	var found []string
	for _, k := range Kinds() {
		var doc any
		if err := json.Unmarshal(SchemaJSON(k), &doc); err != nil {
			t.Fatal(err)
		}
		walkSchema(doc, schemaURL(k)+"#", func(ptr string, node map[string]any) {
			if _, ok := node["contentSchema"]; !ok || strings.Contains(ptr, "/contentSchema") {
				return
			}
			found = append(found, ptr)
			if ptr != schemaURL(k)+"#" && propertyChain(ptr) == nil {
				t.Errorf("contentSchema at %s is not under a chain of properties", ptr)
			}
		})
	}
	slices.Sort(found)
	want := []string{
		"https://dingq.dev/schema/card.schema.json#/properties/cardData",
		"https://dingq.dev/schema/card.schema.json#/properties/singleChatReceiver",
		"https://dingq.dev/schema/crossdomain.schema.json#/properties/send_message_model/properties/content",
	}
	if !slices.Equal(found, want) {
		t.Errorf("contentSchema at %q, want %q", found, want)
	}
}

// walkSchema calls fn with every object in a parsed schema and its JSON pointer.
func walkSchema(node any, ptr string, fn func(ptr string, node map[string]any)) {
	switch n := node.(type) {
	case map[string]any:
		fn(ptr, n)
		for k, v := range n {
			walkSchema(v, ptr+"/"+k, fn)
		}
	case []any:
		for i, v := range n {
			walkSchema(v, ptr+"/"+strconv.Itoa(i), fn)
		}
	}
}
