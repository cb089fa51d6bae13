package wire

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	long := strings.Repeat("钉", 100) // 300 bytes
	tests := []struct {
		name    string
		in      string
		secrets []string
		want    string
	}{
		{"plain", "  system busy ", nil, "system busy"},
		{"newlines", "a\r\nb\tc", nil, "a  b c"},
		{"secret", "token tok-123 refused", []string{"tok-123"}, "token [redacted] refused"},
		{"empty secret ignored", "abc", []string{""}, "abc"},
		{"url query", `see "https://oapi.dingtalk.com/robot/send?access_token=abc&x=1" now`, nil, `see "https://oapi.dingtalk.com/robot/send" now`},
		{"url at end", "at http://h/p?sign=abc", nil, "at http://h/p"},
		{"invalid utf8", "a\xffb", nil, "a b"},
		{"long cut on rune", long, nil, strings.Repeat("钉", 66) + "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Line(tt.in, tt.secrets...)
			if got != tt.want {
				t.Errorf("Line(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !utf8.ValidString(got) || len(got) > MaxMessage+3 {
				t.Errorf("Line(%q) = %q: invalid or too long", tt.in, got)
			}
		})
	}
}

func TestScrub(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		secrets []string
		want    string
	}{
		{"none", `{"code":0}`, []string{"tok"}, `{"code":0}`},
		{"one", `{"msg":"bad tok-1"}`, []string{"tok-1"}, `{"msg":"bad [redacted]"}`},
		{"two", `{"msg":"a s1 b s2"}`, []string{"s1", "s2", ""}, `{"msg":"a [redacted] b [redacted]"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(Scrub([]byte(tt.in), tt.secrets...)); got != tt.want {
				t.Errorf("Scrub() = %q, want %q", got, tt.want)
			}
		})
	}
}
