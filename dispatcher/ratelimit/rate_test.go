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
