package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/dingq/dingq/schema"
)

// faultJSON is a [Fault] on the control endpoints, its Delay a Go duration string ("2s").
type faultJSON struct {
	Kind     schema.Kind `json:"kind,omitempty"`
	Contains string      `json:"contains,omitempty"`
	Times    int         `json:"times,omitempty"`
	Preset   string      `json:"preset,omitempty"`
	Status   int         `json:"status,omitempty"`
	Code     string      `json:"code,omitempty"`
	Delay    string      `json:"delay,omitempty"`
}

func (j faultJSON) fault() (Fault, error) {
	f := Fault{Kind: j.Kind, Contains: j.Contains, Times: j.Times, Preset: j.Preset, Status: j.Status, Code: j.Code}
	if j.Delay != "" {
		d, err := time.ParseDuration(j.Delay)
		if err != nil {
			return Fault{}, fmt.Errorf("delay: %w", err)
		}
		f.Delay = d
	}
	return f, nil
}

func faultToJSON(f Fault) faultJSON {
	j := faultJSON{Kind: f.Kind, Contains: f.Contains, Times: f.Times, Preset: f.Preset, Status: f.Status, Code: f.Code}
	if f.Delay != 0 {
		j.Delay = f.Delay.String()
	}
	return j
}

// deliveryJSON is a [Delivery] on the control endpoints: no body.
type deliveryJSON struct {
	Kind schema.Kind `json:"kind"`
	Key  string      `json:"key"`
	At   time.Time   `json:"at"`
}

func (s *Sandbox) handleListFaults(w http.ResponseWriter, _ *http.Request) {
	faults := s.Faults()
	out := make([]faultJSON, len(faults))
	for i, f := range faults {
		out[i] = faultToJSON(f)
	}
	writeAnswer(w, jsonAnswer(http.StatusOK, out))
}

func (s *Sandbox) handleAddFault(w http.ResponseWriter, r *http.Request) {
	var j faultJSON
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		controlError(w, fmt.Errorf("fault: %w", err))
		return
	}
	f, err := j.fault()
	if err == nil {
		err = s.AddFault(f)
	}
	if err != nil {
		controlError(w, err)
		return
	}
	writeAnswer(w, jsonAnswer(http.StatusCreated, faultToJSON(f)))
}

func (s *Sandbox) handleClearFaults(w http.ResponseWriter, _ *http.Request) {
	s.ClearFaults()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sandbox) handleExpireTokens(w http.ResponseWriter, _ *http.Request) {
	s.ExpireTokens()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sandbox) handleStats(w http.ResponseWriter, _ *http.Request) {
	writeAnswer(w, jsonAnswer(http.StatusOK, s.Stats()))
}

// handleDeliveries lists the latest deliveries, of one kind with ?kind=.
func (s *Sandbox) handleDeliveries(w http.ResponseWriter, r *http.Request) {
	var kind schema.Kind
	if q := r.URL.Query().Get("kind"); q != "" {
		k, err := schema.ParseKind(q)
		if err != nil {
			controlError(w, err)
			return
		}
		kind = k
	}
	out := []deliveryJSON{}
	for _, d := range s.Deliveries() {
		if kind == "" || d.Kind == kind {
			out = append(out, deliveryJSON{d.Kind, d.Key, d.At})
		}
	}
	writeAnswer(w, jsonAnswer(http.StatusOK, out))
}

// controlError answers a bad control request: HTTP 400 {"error":"..."}.
func controlError(w http.ResponseWriter, err error) {
	writeAnswer(w, jsonAnswer(http.StatusBadRequest, struct {
		Error string `json:"error"`
	}{err.Error()}))
}
