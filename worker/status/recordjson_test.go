package status

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzRecordJSON checks the recorder's own encoding against encoding/json's: the same record
// once decoded.
func FuzzRecordJSON(f *testing.F) {
	f.Add("order-1", "card", "", 0, 1, uint64(7), int64(1764000000123))
	f.Add("order 2/ü \"quoted\" \\ \x01\x7f", "fax.v2", "chatbotNotInstall", 400, 3, uint64(1<<63), int64(0))
	f.Add("\xff\xfe bad utf-8 \u2028\u2029 <&>", "robot", "x", -1, 0, uint64(0), int64(-1))
	f.Fuzz(func(t *testing.T, id, kind, code string, httpStatus, attempts int, seq uint64, atMillis int64) {
		rec := Record{JobID: id, Kind: kind, Outcome: OutcomeSent, Code: code, HTTPStatus: httpStatus,
			Attempts: attempts, StreamSeq: seq, At: time.UnixMilli(atMillis % (1 << 45)).UTC()}
		ours := rec.appendJSON(nil)
		theirs, err := json.Marshal(rec)
		if err != nil {
			t.Skip(err)
		}
		var a, b Record
		if err := json.Unmarshal(ours, &a); err != nil {
			t.Fatalf("%s does not decode: %v", ours, err)
		}
		if err := json.Unmarshal(theirs, &b); err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Fatalf("ours %s decodes to %+v, encoding/json's %s to %+v", ours, a, theirs, b)
		}
	})
}
