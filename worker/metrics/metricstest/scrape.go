// Package metricstest reads what a /metrics endpoint serves, for tests: the series of each
// family, found by their labels, parsed strictly from Prometheus's text format with classic names.
package metricstest

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Scrape is one /metrics answer.
type Scrape struct {
	// Text is the answer as served.
	Text     string
	families map[string][]series
}

type series struct {
	labels map[string]string
	value  float64 // a counter's or gauge's value, a histogram's count
}

// Parse parses text, failing t when it is not valid.
func Parse(t testing.TB, text string) Scrape {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, text)
	}
	s := Scrape{Text: text, families: map[string][]series{}}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			// Only the field of the family's type is set; the others read as zero.
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue() +
				float64(m.GetHistogram().GetSampleCount())
			s.families[name] = append(s.families[name], series{labels: labels, value: v})
		}
	}
	return s
}

// Value sums the series of the family name that carry every label name and value of kv (name,
// value, name, value, ...); ok is false when there is none.
func (s Scrape) Value(name string, kv ...string) (v float64, ok bool) {
	for _, sr := range s.families[name] {
		if sr.has(kv) {
			v, ok = v+sr.value, true
		}
	}
	return v, ok
}

// Count is the number of series of the family name that carry every label of kv.
func (s Scrape) Count(name string, kv ...string) int {
	n := 0
	for _, sr := range s.families[name] {
		if sr.has(kv) {
			n++
		}
	}
	return n
}

// Is reports whether the series of name that carry kv exist and sum to want.
func (s Scrape) Is(want float64, name string, kv ...string) bool {
	v, ok := s.Value(name, kv...)
	return ok && v == want
}

// Names lists the families whose names start with prefix, sorted.
func (s Scrape) Names(prefix string) []string {
	var names []string
	for name := range s.families {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func (sr series) has(kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		if sr.labels[kv[i]] != kv[i+1] {
			return false
		}
	}
	return true
}
