package wire

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no query", "https://api.dingtalk.com/v1.0/x", "https://api.dingtalk.com/v1.0/x"},
		{"access token", "https://oapi.dingtalk.com/topapi/x?access_token=SECRET", "https://oapi.dingtalk.com/topapi/x"},
		{"app secret", "https://oapi.dingtalk.com/gettoken?appkey=k&appsecret=SECRET", "https://oapi.dingtalk.com/gettoken"},
		{"fragment", "https://h/p#SECRET", "https://h/p"},
		{"user info", "https://u:SECRET@h/p", "https://h/p"},
		{"empty query", "https://h/p?", "https://h/p"},
		{"unparsable", "https://h/p\x7f?access_token=SECRET", "https://h/p\x7f"},
		{"unparsable with user info", "http://u:SECRET@h:bad port/p?x=SECRET", "h:bad port/p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RedactURL(tt.in)
			if got != tt.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if strings.Contains(got, "SECRET") {
				t.Errorf("RedactURL(%q) kept the secret: %q", tt.in, got)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	urlErr := &url.Error{Op: "Post", URL: "https://h/p?access_token=SECRET", Err: context.DeadlineExceeded}
	tests := []struct {
		name string
		in   error
		want string
	}{
		{"nil", nil, ""},
		{"other error", errors.New("boom"), "boom"},
		{"url error", urlErr, `Post "https://h/p": context deadline exceeded`},
		{"wrapped url error", fmt.Errorf("send: %w", urlErr), `Post "https://h/p": context deadline exceeded`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Redact(tt.in)
			if tt.in == nil {
				if got != nil {
					t.Fatalf("Redact(nil) = %v", got)
				}
				return
			}
			if got.Error() != tt.want {
				t.Errorf("Redact() = %q, want %q", got.Error(), tt.want)
			}
		})
	}
	if err := Redact(urlErr); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Redact lost the cause: %v", err)
	}
	if urlErr.URL != "https://h/p?access_token=SECRET" {
		t.Errorf("Redact changed its argument: %q", urlErr.URL)
	}
}
