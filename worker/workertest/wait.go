package workertest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// WaitFor polls cond every 10 ms until it holds. After timeout it fails the test, saying what it
// waited for and printing each of logs (a LogBuffer, typically) under a "log:" line, so that the
// failure shows what the code under test was doing.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool, logs ...fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			var msg strings.Builder
			fmt.Fprintf(&msg, "timed out after %v waiting for %s", timeout, what)
			for _, l := range logs {
				fmt.Fprintf(&msg, "\nlog:\n%s", l)
			}
			t.Fatal(msg.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
