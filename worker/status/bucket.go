package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
)

// ErrNoBucket is returned by [Lookup] when the status bucket does not exist: no worker has
// recorded an outcome yet with this subject prefix.
var ErrNoBucket = errors.New("the status bucket does not exist: no worker has recorded an outcome yet")

// Lookup returns the records of job id under each of kinds, latest first; none when no final
// outcome is recorded. A job id published again has one record per kind: the latest outcome.
func Lookup(ctx context.Context, js jetstream.JetStream, names schema.Names, kinds []string, id string) ([]Record, error) {
	kv, err := js.KeyValue(ctx, names.StatusBucket())
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, ErrNoBucket
	}
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", names.StatusBucket(), err)
	}
	var recs []Record
	for _, kind := range kinds {
		e, err := kv.Get(ctx, Key(kind, id))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read the status of %s job %s: %w", kind, id, err)
		}
		var r Record
		if err := json.Unmarshal(e.Value(), &r); err != nil {
			return nil, fmt.Errorf("the status of %s job %s is not a record: %w", kind, id, err)
		}
		recs = append(recs, r)
	}
	slices.SortStableFunc(recs, func(a, b Record) int { return b.At.Compare(a.At) })
	return recs, nil
}
