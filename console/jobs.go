package console

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/deadletters"
	"github.com/dingq/dingq/worker/status"
)

// job is GET /jobs?id=...: a job's delivery status by its id and, when it is dead, its letters.
func (c *Console) job(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	data := struct {
		ID       string
		Records  []status.Record
		NoBucket bool
		Letters  []deadletters.Letter
		Partial  bool
		Search   string
	}{ID: id}
	if id == "" {
		c.render(w, r, "job", "Job lookup", data)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	recs, err := status.Lookup(ctx, c.cfg.JS, c.cfg.Names, schema.KindNames(), id)
	switch {
	case errors.Is(err, status.ErrNoBucket):
		data.NoBucket = true
	case err != nil:
		c.fail(w, r, http.StatusBadGateway, err)
		return
	}
	data.Records = recs
	store, err := c.deadLetters(ctx)
	if errors.Is(err, deadletters.ErrNoStream) {
		c.render(w, r, "job", "Job "+id, data)
		return
	}
	if err != nil {
		c.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	page, err := store.Page(ctx, deadletters.PageQuery{Filter: deadletters.Filter{JobID: id}, Size: 10, MaxScan: 20000})
	if err != nil {
		c.fail(w, r, http.StatusBadGateway, err)
		return
	}
	data.Letters, data.Partial = page.Letters, page.Partial || page.Next != 0 && len(page.Letters) == 0
	data.Search = "/letters?" + (listQuery{Spec: deadletters.FilterSpec{JobID: id}}).values().Encode()
	c.render(w, r, "job", "Job "+id, data)
}
