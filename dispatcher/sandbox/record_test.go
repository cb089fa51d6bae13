package sandbox

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dingq/dingq/schema"
)

func cardWithID(id string) string { return strings.Replace(cardBody, cardKey, id, 1) }

func TestWaitDeliveries(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.appToken()

	done := make(chan error, 1)
	go func() { done <- e.sb.WaitDeliveries(t.Context(), 3) }()
	for i := range 3 {
		e.send(schema.KindCard, tok, cardWithID("w"+strconv.Itoa(i)))
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("WaitDeliveries: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitDeliveries did not return after 3 deliveries")
	}
	if err := e.sb.WaitDeliveries(t.Context(), 2); err != nil {
		t.Errorf("a count already reached: %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	err := e.sb.WaitDeliveries(ctx, 4)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "3 of 4") {
		t.Errorf("WaitDeliveries past its deadline = %v, want the deadline and \"3 of 4\"", err)
	}
	if n := len(e.sb.rec.waiters); n != 0 {
		t.Errorf("%d waiters left behind", n)
	}
}

func TestDuplicatesAndCounts(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.appToken()
	for range 3 {
		e.send(schema.KindCard, tok, cardBody)
	}
	if n := e.sb.DeliveryCount(cardKey); n != 3 {
		t.Errorf("DeliveryCount = %d, want 3", n)
	}
	if n := e.sb.DeliveryCount("never-sent"); n != 0 {
		t.Errorf("DeliveryCount of an unknown key = %d", n)
	}
	if st := e.sb.Stats(); st.Duplicates != 2 {
		t.Errorf("Duplicates = %d, want 2", st.Duplicates)
	}
}

func TestMaxRecorded(t *testing.T) {
	e := newEnv(t, Config{MaxRecorded: 3})
	tok := e.appToken()
	for i := range 7 {
		e.send(schema.KindCard, tok, cardWithID("m"+strconv.Itoa(i)))
	}
	var got []string
	for _, d := range e.sb.Deliveries() {
		got = append(got, d.Key)
	}
	if strings.Join(got, ",") != "m4,m5,m6" {
		t.Errorf("Deliveries keys = %v, want the latest three, oldest first", got)
	}
	if e.sb.DeliveryCount("m0") != 1 || e.sb.Stats().Deliveries[schema.KindCard] != 7 {
		t.Errorf("counts forgot deliveries no longer kept")
	}
}
