package worker

import (
	"context"
	"errors"
	"slices"

	"github.com/nats-io/nats.go/jetstream"
)

// ensureStream creates the stream sc describes, or updates it when a setting dingq makes differs
// from sc. A stream that already matches is left alone: a fleet of workers starting at once then
// makes one change, not one each, and no update races another worker's consumer creation on the
// server (nats-server 2.15 reads a stream's config without a lock while creating a consumer).
func ensureStream(ctx context.Context, js jetstream.JetStream, sc jetstream.StreamConfig) error {
	s, err := js.Stream(ctx, sc.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if _, err = js.CreateStream(ctx, sc); !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return err
		}
		// Another worker created it meanwhile; make sure it is this one.
		s, err = js.Stream(ctx, sc.Name)
	}
	if err != nil {
		return err
	}
	if sameStream(s.CachedInfo().Config, sc) {
		return nil
	}
	_, err = js.UpdateStream(ctx, sc)
	return err
}

// sameStream reports whether cur, a stream's config as the server reports it, has every setting
// of want that dingq makes. A limit the server reports as -1 (none) matches a 0 in want.
func sameStream(cur, want jetstream.StreamConfig) bool {
	limit := func(c, w int64) bool { return c == w || (w == 0 && c == -1) }
	return cur.Description == want.Description &&
		slices.Equal(cur.Subjects, want.Subjects) &&
		cur.Retention == want.Retention &&
		cur.Storage == want.Storage &&
		cur.Discard == want.Discard &&
		max(cur.Replicas, 1) == max(want.Replicas, 1) &&
		limit(cur.MaxBytes, want.MaxBytes) &&
		limit(cur.MaxMsgs, want.MaxMsgs) &&
		limit(cur.MaxMsgsPerSubject, want.MaxMsgsPerSubject) &&
		limit(int64(cur.MaxMsgSize), int64(want.MaxMsgSize)) &&
		limit(int64(cur.MaxConsumers), int64(want.MaxConsumers)) &&
		cur.MaxAge == want.MaxAge &&
		(want.Duplicates == 0 || cur.Duplicates == want.Duplicates) &&
		cur.AllowRollup == want.AllowRollup &&
		cur.DenyDelete == want.DenyDelete &&
		cur.AllowDirect == want.AllowDirect &&
		cur.PersistMode == want.PersistMode
}
