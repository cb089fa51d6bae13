package wire

import (
	"strings"
	"testing"
)

func TestBaseURL(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"https", "https://api.dingtalk.com", "https://api.dingtalk.com", false},
		{"trailing slash", "https://api.dingtalk.com/", "https://api.dingtalk.com", false},
		{"path prefix", "http://127.0.0.1:8080/dingtalk/", "http://127.0.0.1:8080/dingtalk", false},
		{"empty", "", "", true},
		{"relative", "/v1.0", "", true},
		{"no scheme", "api.dingtalk.com", "", true},
		{"ftp", "ftp://h", "", true},
		{"no host", "https://", "", true},
		{"query", "https://h?access_token=SECRET", "", true},
		{"user info", "https://u:SECRET@h", "", true},
		{"fragment", "https://h#x", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BaseURL(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("BaseURL(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}
