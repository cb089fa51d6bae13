package console

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/deadletters"
)

const (
	// pageSize is how many dead letters a page of the list shows.
	pageSize = 50
	// previewSize is how many dead letters a confirmation lists.
	previewSize = 20
)

// listQuery is the dead-letter list's filter, as the form and the links give it.
type listQuery struct {
	Spec   deadletters.FilterSpec
	Before uint64
}

func readListQuery(v url.Values) listQuery {
	q := listQuery{Spec: deadletters.FilterSpec{Kind: v.Get("kind"), Reason: v.Get("reason"), Code: v.Get("code"),
		Since: v.Get("since"), Until: v.Get("until"), JobID: v.Get("job")}}
	q.Before, _ = strconv.ParseUint(v.Get("before"), 10, 64)
	return q
}

// values is q as URL parameters, without the cursor.
func (q listQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"kind": q.Spec.Kind, "reason": q.Spec.Reason, "code": q.Spec.Code,
		"since": q.Spec.Since, "until": q.Spec.Until, "job": q.Spec.JobID} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// letters is GET /letters: a page of dead letters, newest first, filtered.
func (c *Console) letters(w http.ResponseWriter, r *http.Request) {
	q := readListQuery(r.URL.Query())
	data := struct {
		Query      listQuery
		Kinds      []schema.Kind
		Reasons    []string
		FieldErrs  map[string]string
		Page       deadletters.Page
		Filtered   bool
		Older      string
		Newest     string
		ActionVals url.Values
	}{Query: q, Kinds: schema.Kinds(), Reasons: []string{schema.ReasonRejected, schema.ReasonExhausted, schema.ReasonInvalid},
		FieldErrs: map[string]string{}}
	f, err := deadletters.ParseFilter(q.Spec, time.Now())
	if err != nil {
		for _, fe := range deadletters.FieldErrors(err) {
			data.FieldErrs[fe.Field] = fe.Err.Error()
		}
		w.WriteHeader(http.StatusBadRequest)
		c.render(w, r, "letters", "Dead letters", data)
		return
	}
	data.Filtered = f != (deadletters.Filter{})
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	store, err := c.deadLetters(ctx)
	if err != nil {
		c.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	page, err := store.Page(ctx, deadletters.PageQuery{Filter: f, Before: q.Before, Size: pageSize})
	if err != nil {
		c.fail(w, r, http.StatusBadGateway, err)
		return
	}
	data.Page = page
	base := q.values()
	if page.Next != 0 {
		v := q.values()
		v.Set("before", strconv.FormatUint(page.Next, 10))
		data.Older = "/letters?" + v.Encode()
	}
	if q.Before != 0 {
		data.Newest = "/letters?" + base.Encode()
	}
	data.ActionVals = base
	c.render(w, r, "letters", "Dead letters", data)
}

// letter is GET /letters/{seq}: one dead letter whole, its secrets masked unless ?reveal=1.
func (c *Console) letter(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		c.fail(w, r, http.StatusNotFound, fmt.Errorf("%q is not a dead letter's sequence", r.PathValue("seq")))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	store, err := c.deadLetters(ctx)
	if err != nil {
		c.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	stored, err := store.Get(ctx, seq)
	if errors.Is(err, deadletters.ErrNotFound) {
		c.fail(w, r, http.StatusNotFound, fmt.Errorf("no dead letter %d: replayed, purged, or never there", seq))
		return
	}
	if err != nil {
		c.fail(w, r, http.StatusBadGateway, err)
		return
	}
	reveal := r.URL.Query().Get("reveal") == "1"
	l, masked := stored, false
	if !reveal {
		l, masked = deadletters.Mask(stored)
	}
	type header struct{ Name, Value string }
	var headers []header
	for _, k := range slices.Sorted(maps.Keys(l.Header)) {
		for _, v := range l.Header[k] {
			headers = append(headers, header{k, v})
		}
	}
	body := string(l.Data)
	if !utf8.Valid(l.Data) {
		body = "(not UTF-8) " + strconv.Quote(body)
	}
	c.render(w, r, "letter", fmt.Sprintf("Dead letter %d", seq), struct {
		L        deadletters.Letter
		Trimmed  []string
		Headers  []header
		Body     string
		Masked   bool
		Revealed bool
		Size     int
	}{l, stored.Trimmed(), headers, body, masked, reveal, len(stored.Data)})
}

// act is POST /letters/act: replay or purge the dead letters checked on a page, or everything
// a filter matches. Without confirmed=1 it shows what it would do and asks; with it, it starts
// the run and shows its progress.
func (c *Console) act(w http.ResponseWriter, r *http.Request) {
	if c.cfg.ReadOnly {
		c.fail(w, r, http.StatusForbidden, errors.New("the console is read-only"))
		return
	}
	verb := r.PostFormValue("action")
	if verb != "replay" && verb != "purge" {
		c.fail(w, r, http.StatusBadRequest, fmt.Errorf("unknown action %q: want replay or purge", verb))
		return
	}
	var refs []deadletters.Ref
	var f deadletters.Filter
	q := readListQuery(r.PostForm)
	if r.PostFormValue("scope") == "filter" {
		var err error
		if f, err = deadletters.ParseFilter(q.Spec, time.Now()); err != nil {
			c.fail(w, r, http.StatusBadRequest, err)
			return
		}
	} else {
		for _, s := range r.PostForm["seq"] {
			seq, err := strconv.ParseUint(s, 10, 64)
			if err != nil || seq == 0 {
				c.fail(w, r, http.StatusBadRequest, fmt.Errorf("%q is not a dead letter's sequence", s))
				return
			}
			refs = append(refs, deadletters.Ref{Seq: seq})
		}
		if len(refs) == 0 {
			c.fail(w, r, http.StatusBadRequest, errors.New("no dead letter is checked"))
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	store, err := c.deadLetters(ctx)
	if err != nil {
		c.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	sel, err := store.Select(ctx, refs, f, verb == "replay")
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, err)
		return
	}
	if r.PostFormValue("confirmed") != "1" {
		c.render(w, r, "confirm", "Confirm", struct {
			Verb    string
			Count   int
			Preview []deadletters.Letter
			More    int
			Form    url.Values
		}{verb, len(sel.Letters), sel.Letters[:min(len(sel.Letters), previewSize)], max(len(sel.Letters)-previewSize, 0), r.PostForm})
		return
	}
	id := c.start(store, verb, sel)
	c.log.Info().Str("action", verb).Int("dead_letters", len(sel.Letters)).Str("run", id).Str("remote", r.RemoteAddr).Msg("console: run started")
	http.Redirect(w, r, "/runs/"+id, http.StatusSeeOther)
}

// run is a replay or purge in progress, or done.
type run struct {
	ID, Verb string
	Total    int
	Started  time.Time

	mu       sync.Mutex
	done     int
	counts   map[deadletters.Result]int
	items    []deadletters.Item // the latest, for the page
	outcome  string
	err      string
	finished time.Time
}

// runView is a run as its page shows it.
type runView struct {
	ID, Verb, Outcome, Err string
	Total, Done            int
	Percent                int
	Counts                 map[deadletters.Result]int
	Items                  []deadletters.Item
	Finished               bool
	Took                   time.Duration
}

// start runs verb over sel in the background, bounded by the console's life, and returns its id.
func (c *Console) start(store *deadletters.Store, verb string, sel deadletters.Selection) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	ru := &run{ID: hex.EncodeToString(b[:]), Verb: verb, Total: len(sel.Letters), Started: time.Now(), counts: map[deadletters.Result]int{}}
	c.runsMu.Lock()
	for id, old := range c.runs { // finished runs are kept an hour
		old.mu.Lock()
		if !old.finished.IsZero() && time.Since(old.finished) > time.Hour {
			delete(c.runs, id)
		}
		old.mu.Unlock()
	}
	c.runs[ru.ID] = ru
	c.runsMu.Unlock()
	each := func(it deadletters.Item) {
		ru.mu.Lock()
		defer ru.mu.Unlock()
		ru.done++
		ru.counts[it.Result]++
		ru.items = append(ru.items, it)
		if len(ru.items) > previewSize {
			ru.items = ru.items[1:]
		}
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		var out deadletters.Outcome
		var err error
		if verb == "replay" {
			out, err = store.ReplaySelection(c.runCtx, sel, each)
		} else {
			out, err = store.PurgeSelection(c.runCtx, sel, each)
		}
		ru.mu.Lock()
		defer ru.mu.Unlock()
		ru.outcome, ru.finished = out.String(), time.Now()
		if err != nil {
			ru.err = err.Error()
		} else if len(out.Kept) > 0 {
			ru.err = errors.Join(out.Kept...).Error()
		}
		c.log.Info().Str("run", ru.ID).Str("outcome", ru.outcome).Str("error", ru.err).Msg("console: run finished")
	}()
	return ru.ID
}

// runPage is GET /runs/{id}: a run's progress, refreshed each second until it is done.
func (c *Console) runPage(w http.ResponseWriter, r *http.Request) {
	c.runsMu.Lock()
	ru := c.runs[r.PathValue("id")]
	c.runsMu.Unlock()
	if ru == nil {
		c.fail(w, r, http.StatusNotFound, errors.New("no such run: a run is kept an hour after it ends, while the console runs"))
		return
	}
	ru.mu.Lock()
	v := runView{ID: ru.ID, Verb: ru.Verb, Outcome: ru.outcome, Err: ru.err, Total: ru.Total, Done: ru.done,
		Counts: maps.Clone(ru.counts), Items: slices.Clone(ru.items), Finished: !ru.finished.IsZero()}
	if v.Finished {
		v.Took = ru.finished.Sub(ru.Started)
	}
	ru.mu.Unlock()
	if v.Total > 0 {
		v.Percent = v.Done * 100 / v.Total
	}
	slices.Reverse(v.Items)
	c.render(w, r, "run", fmt.Sprintf("%s: %d of %d", v.Verb, v.Done, v.Total), v)
}
