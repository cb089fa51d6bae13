package token

import (
	"testing"
	"time"
)

// A fetch's failure that reaches the fleet's other workers through the shared lock, which keeps
// its code and status only, waits as long as the fetch's own.
// Table: docs/dingtalk.md#token-errors.
func TestFailureThroughTheLockKeepsItsDelay(t *testing.T) {
	for _, tt := range []struct {
		code   string
		status int
		delay  time.Duration
	}{
		{"Forbidden.AccessDenied.QpsLimitForApi", 403, time.Second},
		{"forbidden.accessDenied.qpsLimitForApi", 403, time.Second},
		{"http_403", 403, time.Second},
		{"Throttling", 429, time.Second},
		{"88/90018", 200, time.Second},
		{"90018", 200, time.Second},
		{"90005", 200, time.Minute},
		{"88/90002", 200, time.Minute},
		{"non_json_body", 403, time.Minute},
		{"non_json_body", 200, time.Minute},
		{"non_json_body", 503, 0},
		{"invalidClientIdOrSecret", 400, 0},
		{"Forbidden.AccessDenied.IpNotInWhiteList", 403, 0},
		{"90020", 200, 0},
		{"88", 200, 0},
		{"bad_config", 0, 0},
	} {
		own := failure(tt.code, tt.status, "m")
		rec := failedRecord("w1", own)
		shared := failure(rec.Failed, rec.Status, "the fetch of the worker that held the shared token's lock failed")
		if own.MinDelay != tt.delay || shared.MinDelay != tt.delay || shared.Code != own.Code {
			t.Errorf("%s on %d: own %v %q, through the lock %v %q; want %v", tt.code, tt.status,
				own.MinDelay, own.Code, shared.MinDelay, shared.Code, tt.delay)
		}
	}
}
