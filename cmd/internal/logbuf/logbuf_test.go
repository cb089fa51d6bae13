package logbuf_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/dingq/dingq/cmd/internal/logbuf"
	"github.com/dingq/dingq/worker/workertest"
)

// sink records each write call the Writer makes.
type sink struct {
	mu     sync.Mutex
	writes []string
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = append(s.writes, string(p))
	return len(p), nil
}

func (s *sink) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.writes...)
}

func TestInfoLinesWaitAndAWarningTakesThemAlongInOrder(t *testing.T) {
	out := &sink{}
	w := logbuf.New(out, zerolog.WarnLevel, time.Hour)
	log := zerolog.New(w)
	log.Info().Msg("sent 1")
	log.Info().Msg("sent 2")
	if got := out.all(); len(got) != 0 {
		t.Fatalf("info lines written at once: %q", got)
	}
	log.Warn().Msg("trouble")
	got := out.all()
	if len(got) != 1 {
		t.Fatalf("writes = %q, want one write of all three lines", got)
	}
	lines := strings.Split(strings.TrimSpace(got[0]), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "sent 1") || !strings.Contains(lines[1], "sent 2") || !strings.Contains(lines[2], "trouble") {
		t.Errorf("lines = %q, want sent 1, sent 2, trouble", lines)
	}
}

func TestWaitingLinesAreWrittenAfterTheInterval(t *testing.T) {
	out := &sink{}
	w := logbuf.New(out, zerolog.WarnLevel, 20*time.Millisecond)
	defer w.Close()
	log := zerolog.New(w)
	log.Info().Msg("sent")
	workertest.WaitFor(t, 5*time.Second, "the line written by the timer", func() bool { return len(out.all()) == 1 })
	log.Info().Msg("sent again")
	workertest.WaitFor(t, 5*time.Second, "the next line written by the timer too", func() bool { return len(out.all()) == 2 })
}

func TestCloseWritesWhatWaitsAndLaterLinesAtOnce(t *testing.T) {
	out := &sink{}
	w := logbuf.New(out, zerolog.WarnLevel, time.Hour)
	log := zerolog.New(w)
	log.Info().Msg("last send")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.all(); len(got) != 1 || !strings.Contains(got[0], "last send") {
		t.Fatalf("after Close: %q", got)
	}
	log.Info().Msg("after close")
	if got := out.all(); len(got) != 2 {
		t.Errorf("a line after Close waits: %q", got)
	}
}

func TestAFullBufferIsWrittenAtOnce(t *testing.T) {
	out := &sink{}
	w := logbuf.New(out, zerolog.WarnLevel, time.Hour)
	defer w.Close()
	line := append(bytes.Repeat([]byte("x"), 1023), '\n')
	for range 64 {
		if _, err := w.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	if got := out.all(); len(got) != 1 || len(got[0]) != 64*1024 {
		t.Errorf("after 64 KiB: %d writes", len(got))
	}
}
