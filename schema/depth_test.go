package schema

import (
	"strings"
	"testing"
)

func TestTooDeep(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	tests := []struct {
		name string
		body string
		want bool
	}{
		{"empty", "", false},
		{"flat", `{"a":1}`, false},
		{"at the limit", nest(MaxDepth), false},
		{"one over", nest(MaxDepth + 1), true},
		{"objects over", strings.Repeat(`{"a":`, MaxDepth+1), true},
		{"brackets in strings", `{"a":"` + strings.Repeat("[{", 100) + `"}`, false},
		{"escaped quote in a string", `{"a":"\"` + strings.Repeat("[", 100) + `"}`, false},
		{"escaped backslash ends a string", `{"a":"\\",` + `"b":` + nest(MaxDepth) + `}`, true},
		{"unterminated string", `{"a":"` + strings.Repeat("[", 100), false},
		{"trailing backslash", `"\`, false},
		{"closers first", strings.Repeat("]", 100) + nest(MaxDepth), false},
		{"siblings do not add up", `[` + strings.Repeat(nest(MaxDepth-1)+",", 10) + `1]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tooDeep([]byte(tt.body), MaxDepth); got != tt.want {
				t.Errorf("tooDeep = %v, want %v", got, tt.want)
			}
		})
	}
}
