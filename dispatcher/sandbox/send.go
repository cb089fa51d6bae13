package sandbox

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/dingq/dingq/schema"
)

// sendAPI is one DingTalk send endpoint as the sandbox plays it: where its credential travels,
// what it requires of a body, and how it words its answers.
type sendAPI interface {
	kind() schema.Kind
	// authorize checks the request's credential; when it is not live it returns the refusal.
	authorize(r *http.Request) (refusal answer, ok bool)
	// accept checks body; it returns the bytes that key the delivery, or the refusal.
	accept(body []byte) (key []byte, refusal answer, ok bool)
	// unwrap returns the bytes that key body, acceptable or not (for logs).
	unwrap(body []byte) []byte
	// fail renders a failure in the API's own form ([PresetHTML] and [PresetIPBan] aside, see
	// render).
	fail(f failure) answer
	// success renders the answer to an accepted send.
	success() answer
	// checkCode reports whether fail can render code.
	checkCode(code string) error
}

// failure is a failure to render: a preset, with the status and code it defaults to overridden
// where they are set.
type failure struct {
	preset string // a Preset* name, or "" for a bare status and code
	status int    // 0: the preset's
	code   string // "": the preset's
	msg    string // "": the preset's
}

// render renders f for api; the HTML page is the same whatever the API.
func render(api sendAPI, f failure) answer {
	if f.preset == PresetHTML || f.preset == PresetIPBan {
		return banPage(cmp.Or(f.status, http.StatusForbidden))
	}
	return api.fail(f)
}

// serveSend returns the handler of api's endpoint.
func (s *Sandbox) serveSend(api sendAPI) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.send(api, w, r) }
}

// send answers one send request: it reads the body, decides the answer, records the outcome
// (and the delivery) before it writes the answer, so a client that has its answer sees it counted.
func (s *Sandbox) send(api sendAPI, w http.ResponseWriter, r *http.Request) {
	kind := api.kind()
	s.rec.arrive(kind)
	buf, ok := s.readBody(api, w, r)
	if !ok {
		return
	}
	defer s.bufs.put(buf)
	body := buf.Bytes()
	a, outcome, key := s.decide(r.Context(), api, r, body)
	var id string
	if outcome == OutcomeDelivered {
		id = schema.JobID(kind, "", key)
		var kept []byte
		if s.cfg.RecordBodies {
			kept = bytes.Clone(key)
		}
		s.rec.deliver(kind, id, kept, time.Now())
	}
	s.answer(api, w, body, id, a, outcome)
}

// readBody reads a send request's body into a pooled buffer, to be put back when done. A body too
// large, or a client gone mid-body, is answered here (and the buffer put back): ok is false.
func (s *Sandbox) readBody(api sendAPI, w http.ResponseWriter, r *http.Request) (buf *bytes.Buffer, ok bool) {
	buf = s.bufs.get()
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxBodyBytes)); err != nil {
		s.bufs.put(buf)
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			s.answer(api, w, nil, "", tooLargePage(), OutcomeRejected)
			return nil, false
		}
		s.answer(api, w, nil, "", answer{}, OutcomeCanceled) // the client went away mid-body
		return nil, false
	}
	return buf, true
}

// decide returns the answer to a send, its outcome and, when delivered, the bytes that key it.
// The order is documented on the package: latency, targeted faults, random rates, the QPS limit,
// then the token and the body.
func (s *Sandbox) decide(ctx context.Context, api sendAPI, r *http.Request, body []byte) (answer, Outcome, []byte) {
	if !wait(ctx, s.cfg.Latency) {
		return answer{}, OutcomeCanceled, nil
	}
	if f, ok := s.faults.match(api.kind(), body); ok {
		if !wait(ctx, f.Delay) {
			return answer{}, OutcomeCanceled, nil
		}
		return render(api, f.failure()), OutcomeFault, nil
	}
	if o := s.dice.roll(); o != "" {
		return render(api, failure{preset: o.preset()}), o, nil
	}
	if api.kind() != schema.KindRobot && !s.qps.allow(r.URL.Path, time.Now()) {
		return render(api, failure{preset: PresetThrottle}), OutcomeThrottled, nil
	}
	if a, ok := api.authorize(r); !ok {
		return a, OutcomeTokenInvalid, nil
	}
	key, a, ok := api.accept(body)
	if !ok {
		return a, OutcomeRejected, nil
	}
	return api.success(), OutcomeDelivered, key
}

// answer counts the outcome, logs it and writes a (nothing when the client has gone).
// id is the job id when already known.
func (s *Sandbox) answer(api sendAPI, w http.ResponseWriter, body []byte, id string, a answer, outcome Outcome) {
	s.rec.outcome(api.kind(), outcome)
	if e := s.log.Debug(); e.Enabled() {
		if id == "" && body != nil {
			id = schema.JobID(api.kind(), "", api.unwrap(body))
		}
		e.Str("kind", string(api.kind())).Str("job_id", id).Int("status", a.status).
			Str("code", a.code).Str("outcome", string(outcome)).Msg("sandbox send")
	}
	if outcome != OutcomeCanceled {
		writeAnswer(w, a)
	}
}

// wait waits d, and reports false if ctx ends first.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
