package sandbox

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/dingq/dingq/schema"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogs(t *testing.T) {
	var out syncBuffer
	e := newEnv(t, Config{Logger: zerolog.New(&out).Level(zerolog.DebugLevel), KdocsToken: "kdocs-secret-token"})
	tok := e.appToken()
	e.send(schema.KindCard, tok, cardBody)
	e.send(schema.KindCard, "wrong-token", cardBody)
	e.send(schema.KindCrossDomain, tok, wrap(crossDomainModel))
	e.send(schema.KindCrossDomain, "wrong-token", wrap(crossDomainModel))
	e.send(schema.KindRobot, "kdocs-secret-token", robotBody)
	e.send(schema.KindRobot, "wrong-token", robotBody)
	must(t, e.sb.AddFault(Fault{Preset: PresetReject}))
	e.send(schema.KindRobot, "kdocs-secret-token", robotBody)

	logs := out.String()
	for _, secret := range []string{
		tok, "wrong-token", "kdocs-secret-token", "SECrobotsigningsecret", "robot-webhook-token",
		"access_token", "cardParamMap", `"sk"`, "?",
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs hold %q:\n%s", secret, logs)
		}
	}

	lines := strings.Split(strings.TrimSpace(logs), "\n")
	if len(lines) != 7 {
		t.Fatalf("%d log lines, want one per send (7):\n%s", len(lines), logs)
	}
	wantIDs := []string{cardKey, cardKey, crossDomainKey, crossDomainKey}
	for i, line := range lines {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if keys(ev) != "code,job_id,kind,level,message,outcome,status" {
			t.Errorf("line %d fields: %s", i, keys(ev))
		}
		if i < len(wantIDs) && ev["job_id"] != wantIDs[i] {
			t.Errorf("line %d job_id = %v, want %s", i, ev["job_id"], wantIDs[i])
		}
	}
	if !strings.Contains(lines[6], `"outcome":"fault"`) || !strings.Contains(lines[6], `"code":"400001"`) {
		t.Errorf("the faulted send's line: %s", lines[6])
	}
}
