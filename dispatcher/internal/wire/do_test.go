package wire

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dingq/dingq/dispatcher/internal/wiretest"
)

func TestDo(t *testing.T) {
	big := strings.Repeat("x", MaxAnswer+100<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			_, _ = io.WriteString(w, big)
		default:
			w.WriteHeader(http.StatusTeapot)
			_, _ = io.WriteString(w, `{"code":"x"}`)
		}
	}))
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	cc := &wiretest.CloseCounter{Next: tr}
	client := &http.Client{Transport: cc}

	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantLen    int
	}{
		{"small", "/small?access_token=SECRET", http.StatusTeapot, len(`{"code":"x"}`)},
		{"bounded", "/big", http.StatusOK, MaxAnswer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+tt.path, nil)
			status, body, err := Do(client, req)
			if err != nil || status != tt.wantStatus || len(body) != tt.wantLen {
				t.Fatalf("Do() = %d, %d bytes, %v; want %d, %d bytes", status, len(body), err, tt.wantStatus, tt.wantLen)
			}
		})
	}
	if o, c := cc.Opened(), cc.Closed(); o != 2 || c != 2 {
		t.Errorf("bodies opened %d, closed %d; want 2, 2", o, c)
	}
}

func TestDoNetworkErrorHasNoQuery(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/p?access_token=SECRET", nil)
	_, _, err := Do(srv.Client(), req)
	if err == nil {
		t.Fatal("Do() against a closed server succeeded")
	}
	if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "access_token") {
		t.Errorf("error shows the query: %v", err)
	}
}
