package deadletters

import (
	"testing"
	"time"
)

// SetClockSkew sets the stored-time margin of time conditions to d until t ends: a test's dead
// letters are all stored within moments, and only a narrow margin tells them apart.
func SetClockSkew(t testing.TB, d time.Duration) {
	old := clockSkew
	clockSkew = d
	t.Cleanup(func() { clockSkew = old })
}
