package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/dingq/dingq/schema"
)

// Presets name the failures a [Fault] can answer with, each in the kind's own form.
const (
	// PresetBusy: card HTTP 500 {"code":"systemBusy"}; crossdomain {"errcode":-1};
	// robot HTTP 503 {"code":503}.
	PresetBusy = "busy"
	// PresetThrottle: card HTTP 403 {"Code":"Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
	// "Message","RequestId","HostId"} (the gateway's PascalCase); crossdomain
	// {"errcode":88,"sub_code":"90018"}; robot HTTP 429 {"code":429}.
	PresetThrottle = "throttle"
	// PresetReject: card HTTP 400 {"code":"chatbotNotInstall"}; crossdomain {"errcode":40035};
	// robot {"code":400001}.
	PresetReject = "reject"
	// PresetToken is the kind's invalid-token answer: card HTTP 400 {"code":"InvalidAuthentication"};
	// crossdomain {"errcode":88,"sub_code":"40014"}; robot HTTP 401 {"code":401}.
	PresetToken = "token"
	// PresetHTML is an HTML page on HTTP 403, as DingTalk answers an IP it has banned, on the
	// send requests the fault matches; with a Status of 502, say, it plays a proxy's page.
	PresetHTML = "html"
	// PresetIPBan plays DingTalk's per-IP ban (more than 10,000 calls in 20 s from one IP: every
	// API refuses it for 5 minutes): the gateway's HTML ban page on HTTP 403, with no JSON and
	// no code, on every API. A fault of any kind (Kind "") answers it to every request it
	// matches: the card template send, createAndDeliver, the cross-domain send, the kdocs relay,
	// the direct robot webhook and both token endpoints (POST /v1.0/oauth2/accessToken and GET
	// /gettoken, which no other fault reaches); with a Kind, to that kind's sends only. On GET
	// /gettoken, Contains is matched against the query string, which carries the appkey.
	PresetIPBan = "ipban"
)

// Fault is a failure injected into the send requests it matches. Faults are checked in the
// order they were added, before [Config.BusyRate] and [Config.ThrottleRate]; the first that
// matches answers the request, which is then not delivered.
type Fault struct {
	// Kind limits the fault to one kind's sends. Default "": any kind.
	Kind schema.Kind
	// Contains limits the fault to requests whose raw body holds this substring (for crossdomain,
	// the wrapped body as sent). Default "": any body.
	Contains string
	// Times is how many matching requests get the fault before it is spent and removed.
	// Default 0: every matching request, until [Sandbox.ClearFaults].
	Times int
	// Preset is one of the Preset* names, or "" for a bare Status and Code (then Code is required).
	Preset string
	// Status replaces the answer's HTTP status. Default 0: the preset's, or with no preset 400
	// for card and 200 for crossdomain and robot. With [PresetHTML] and [PresetIPBan], 403.
	Status int
	// Code replaces the answer's code. For card any string; for crossdomain an errcode ("40035")
	// or errcode/sub_code ("88/60011"); for robot a number. A fault of any kind (Kind "") with a
	// Code must use a plain number, which every kind can render. Ignored by [PresetHTML] and
	// [PresetIPBan].
	Code string
	// Delay is how long the answer waits (on top of [Config.Latency]), e.g. to make a client time
	// out. Default 0.
	Delay time.Duration
}

func (f Fault) failure() failure {
	return failure{preset: f.Preset, status: f.Status, code: f.Code}
}

// page reports whether f answers with an HTML page, whatever the API, rather than in the API's
// own form.
func (f Fault) page() bool { return f.Preset == PresetHTML || f.Preset == PresetIPBan }

// validate checks f against the APIs it may hit.
func (f Fault) validate(apis map[schema.Kind]sendAPI) error {
	var errs []error
	switch f.Preset {
	case "", PresetBusy, PresetThrottle, PresetReject, PresetToken, PresetHTML, PresetIPBan:
	default:
		errs = append(errs, fmt.Errorf("unknown preset %q (want busy, throttle, reject, token, html, ipban or none)", f.Preset))
	}
	if f.Preset == "" && f.Code == "" {
		errs = append(errs, errors.New("a fault needs a preset or a code"))
	}
	if f.Times < 0 || f.Status < 0 || f.Delay < 0 {
		errs = append(errs, errors.New("times, status and delay may not be negative"))
	}
	if f.Status != 0 && (f.Status < 100 || f.Status > 599) {
		errs = append(errs, fmt.Errorf("status %d is not an HTTP status", f.Status))
	}
	kinds := schema.Kinds()
	if f.Kind != "" {
		if _, err := schema.ParseKind(string(f.Kind)); err != nil {
			return errors.Join(append(errs, err)...)
		}
		kinds = []schema.Kind{f.Kind}
	}
	if f.Code != "" && !f.page() {
		for _, k := range kinds {
			if err := apis[k].checkCode(f.Code); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", k, err))
			}
		}
	}
	return errors.Join(errs...)
}

// faultList holds the active faults, in the order added. Safe for concurrent use.
type faultList struct {
	mu     sync.Mutex
	faults []Fault // Times counts down; a spent fault is removed
}

// match returns the first fault that matches a send of kind with body, counting it down.
func (l *faultList) match(kind schema.Kind, body []byte) (Fault, bool) {
	return l.first(body, func(f *Fault) bool { return f.Kind == "" || f.Kind == kind })
}

// matchBan returns the first fault that matches a token fetch whose body (or, for GET, query)
// is body: an IP ban of any kind. It counts the fault down.
func (l *faultList) matchBan(body []byte) (Fault, bool) {
	return l.first(body, func(f *Fault) bool { return f.Kind == "" && f.Preset == PresetIPBan })
}

// first returns the first fault that applies and whose Contains body holds, counting it down.
func (l *faultList) first(body []byte, applies func(*Fault) bool) (Fault, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.faults {
		f := &l.faults[i]
		if !applies(f) || f.Contains != "" && !bytes.Contains(body, []byte(f.Contains)) {
			continue
		}
		hit := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				l.faults = slices.Delete(l.faults, i, i+1)
			}
		}
		return hit, true
	}
	return Fault{}, false
}

// AddFault adds f after the faults already active. It returns an error, and adds nothing, when
// f names an unknown preset or kind, has neither preset nor code, or has a code one of the kinds
// it matches cannot render. Safe for concurrent use.
func (s *Sandbox) AddFault(f Fault) error {
	if err := f.validate(s.apis); err != nil {
		return fmt.Errorf("sandbox: fault: %w", err)
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.faults = append(s.faults.faults, f)
	return nil
}

// ClearFaults removes every active fault. Safe for concurrent use.
func (s *Sandbox) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.faults = nil
}

// Faults returns the active faults, in order; Times is what is left of each. Safe for
// concurrent use.
func (s *Sandbox) Faults() []Fault {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return slices.Clone(s.faults.faults)
}
