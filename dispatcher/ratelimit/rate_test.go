package ratelimit

import (
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want Rate
		ok   bool
	}{
		{"20/1s", Rate{20, time.Second}, true},
		{"20/s", Rate{20, time.Second}, true},
		{"20/1m", Rate{20, time.Minute}, true},
		{"20/m", Rate{20, time.Minute}, true},
		{" 10 / 2s ", Rate{10, 2 * time.Second}, true},
		{"off", Rate{}, true},
		{"OFF", Rate{}, true},
		{"20", Rate{}, false},
		{"0/1s", Rate{}, false},
		{"-1/1s", Rate{}, false},
		{"x/1s", Rate{}, false},
		{"20/0s", Rate{}, false},
		{"20/1us", Rate{}, false},
		{"20/fortnight", Rate{}, false},
		{"", Rate{}, false},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if err == nil {
			if back, _ := ParseRate(got.String()); back != got {
				t.Errorf("ParseRate(%q).String() = %q does not read back", tt.in, got.String())
			}
		}
	}
}

func TestRateString(t *testing.T) {
	for r, want := range map[Rate]string{
		{}:                           "off",
		{20, time.Second}:            "20/1s",
		{20, time.Minute}:            "20/1m",
		{10, 2 * time.Second}:        "10/2s",
		{5, 90 * time.Second}:        "5/90s",
		{3, 1500 * time.Millisecond}: "3/1.5s",
		{1, 2 * time.Hour}:           "1/2h",
	} {
		if got := r.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", r, got, want)
		}
	}
}
