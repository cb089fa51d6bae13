package k8s

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
	sigsjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"
)

// decodeStrict decodes one YAML document into v as the API server's strict field validation
// would: an unknown field, a field given twice, a field whose case is wrong (imagepullPolicy) or
// a value of the wrong type is an error. v's fields are matched by their json tags, as the
// Kubernetes API types and the structs of this package declare them.
//
// sigs.k8s.io/yaml's own UnmarshalStrict would do, but for case: it decodes with encoding/json,
// which matches field names without regard to case. sigs.k8s.io/json is the decoder apimachinery
// uses, and matches them exactly.
func decodeStrict(data []byte, v any) error {
	if n, err := documents(data); err != nil {
		return err
	} else if n != 1 {
		return fmt.Errorf("%d YAML documents: want one per file", n)
	}
	j, err := sigsyaml.YAMLToJSONStrict(data) // rejects a key given twice
	if err != nil {
		return err
	}
	strictErrs, err := sigsjson.UnmarshalStrict(j, v, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strictErrs...)
}

// documents counts the YAML documents in data: a second document (after ---) would otherwise be
// skipped without a word, by the YAML-to-JSON conversion.
func documents(data []byte) (int, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	n := 0
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}
