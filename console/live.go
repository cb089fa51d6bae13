package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/dingq/dingq/schema"
)

// live is GET /live: outcome events as they happen, filtered by kind and outcome.
func (c *Console) live(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, "live", "Live", struct {
		Kinds    []schema.Kind
		Outcomes []string
		Kind     string
		Outcome  string
	}{schema.Kinds(), []string{"sent", "retried", "rejected", "exhausted", "invalid"}, r.URL.Query().Get("kind"), r.URL.Query().Get("outcome")})
}

// liveEvents is GET /live/events: the events as server-sent events, one JSON record each,
// filtered by ?kind= and ?outcome=. A comment every 15 s keeps proxies from closing the stream.
func (c *Console) liveEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	kind, outcome := r.URL.Query().Get("kind"), r.URL.Query().Get("outcome")
	events, stop := c.activity.listen()
	defer stop()
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": dingq console\n\n")
	flusher.Flush()
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-c.runCtx.Done():
			return
		case <-keepAlive.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case rec := <-events:
			if kind != "" && rec.Kind != kind || outcome != "" && rec.Outcome != outcome {
				continue
			}
			data, err := json.Marshal(rec)
			if err != nil {
				continue
			}
			fmt.Fprintf(w, "data: %s\n\n", data)
		}
		flusher.Flush()
	}
}
