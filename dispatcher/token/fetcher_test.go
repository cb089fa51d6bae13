package token_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/token"
)

const (
	appKey    = "ding-app-key"
	appSecret = "s3cr3t-app-secret"
)

// seen is what a fake token API saw of a request.
type seen struct {
	method, path, query, contentType string
	body                             []byte
}

// tokenServer answers every request with status and body, and reports what it saw on the channel.
func tokenServer(t *testing.T, status int, body string) (*httptest.Server, <-chan seen) {
	t.Helper()
	got := make(chan seen, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), b}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(srv.Client().CloseIdleConnections)
	return srv, got
}

func TestAPIFetcherRequest(t *testing.T) {
	srv, got := tokenServer(t, 200, `{"accessToken":"tok-1","expireIn":7200}`)
	f := token.NewAPIFetcher(srv.URL+"/", appKey, appSecret, srv.Client())
	tok, ttl, err := f.Fetch(context.Background())
	if err != nil || tok != "tok-1" || ttl != 2*time.Hour {
		t.Fatalf("Fetch() = %q, %v, %v; want tok-1, 2h", tok, ttl, err)
	}
	r := <-got
	var body map[string]string
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if r.method != http.MethodPost || r.path != "/v1.0/oauth2/accessToken" || r.query != "" ||
		r.contentType != "application/json" || len(body) != 2 || body["appKey"] != appKey || body["appSecret"] != appSecret {
		t.Errorf("request %s %s ? %q, %q, body %s", r.method, r.path, r.query, r.contentType, r.body)
	}
}

func TestOAPIFetcherRequest(t *testing.T) {
	srv, got := tokenServer(t, 200, `{"errcode":0,"errmsg":"ok","access_token":"tok-1","expires_in":7200}`)
	f := token.NewOAPIFetcher(srv.URL, appKey, appSecret, srv.Client())
	tok, ttl, err := f.Fetch(context.Background())
	if err != nil || tok != "tok-1" || ttl != 2*time.Hour {
		t.Fatalf("Fetch() = %q, %v, %v; want tok-1, 2h", tok, ttl, err)
	}
	r := <-got
	if r.method != http.MethodGet || r.path != "/gettoken" || r.query != "appkey="+appKey+"&appsecret="+appSecret {
		t.Errorf("request %s %s ? %q", r.method, r.path, r.query)
	}
}

// fetcherKinds builds each fetcher against a base URL.
var fetcherKinds = map[string]func(base, key, secret string, c *http.Client) token.Fetcher{
	"api": func(base, key, secret string, c *http.Client) token.Fetcher {
		return token.NewAPIFetcher(base, key, secret, c)
	},
	"oapi": func(base, key, secret string, c *http.Client) token.Fetcher {
		return token.NewOAPIFetcher(base, key, secret, c)
	},
}

// Table: docs/dingtalk.md#token-errors.
func TestFetcherFailure(t *testing.T) {
	tests := []struct {
		name    string
		fetcher string
		status  int
		body    string
		code    string
		delay   time.Duration
	}{
		{"api 400 invalidClientIdOrSecret", "api", 400,
			`{"code":"invalidClientIdOrSecret","message":"无效的clientId或者clientSecret ` + appSecret + `","requestid":"r"}`,
			"token:invalidClientIdOrSecret", 0},
		{"api pascal case", "api", 403, `{"Code":"Forbidden.AccessDenied.IpNotInWhiteList","Message":"m"}`,
			"token:Forbidden.AccessDenied.IpNotInWhiteList", 0},
		{"api 429", "api", 429, `{"code":"Throttling"}`, "token:Throttling", time.Second},
		{"api 503 without code", "api", 503, `{}`, "token:http_503", 0},
		{"api html", "api", 502, "<html>bad gateway</html>", "token:non_json_body", 0},
		{"api 200 without token", "api", 200, `{"expireIn":7200}`, "token:unexpected_answer", 0},
		{"api 200 echoes secret", "api", 200, `{"accessToken":"","message":"` + appSecret + `"}`, "token:unexpected_answer", 0},
		{"oapi 40089", "oapi", 200, `{"errcode":40089,"errmsg":"不合法的corpid或corpsecret ` + appSecret + `"}`, "token:40089", 0},
		{"oapi 200 without token", "oapi", 200, `{"errcode":0,"errmsg":"ok"}`, "token:unexpected_answer", 0},
		{"oapi 500", "oapi", 500, `{"errcode":-1}`, "token:http_500", 0},

		// A 403 QPS refusal waits a second on both APIs, its code in any case (was: at once).
		{"api 403 QpsLimit", "api", 403, `{"code":"Forbidden.AccessDenied.QpsLimitForAppkeyAndApi","message":"m"}`,
			"token:Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", time.Second},
		{"api 403 QpsLimit pascal", "api", 403, `{"Code":"Forbidden.AccessDenied.QpsLimitForApi","Message":"m"}`,
			"token:Forbidden.AccessDenied.QpsLimitForApi", time.Second},
		{"api 403 qpsLimit lower case", "api", 403, `{"code":"forbidden.accessDenied.qpsLimitForApi"}`,
			"token:forbidden.accessDenied.qpsLimitForApi", time.Second},
		{"api 403 QpmLimit", "api", 403, `{"code":"Forbidden.AccessDenied.QpmLimitForAppkeyAndApi"}`,
			"token:Forbidden.AccessDenied.QpmLimitForAppkeyAndApi", time.Second},
		{"api 403 without code", "api", 403, `{}`, "token:http_403", time.Second},
		{"oapi 403 QpsLimit", "oapi", 403, `{"Code":"Forbidden.AccessDenied.QpsLimitForApi","Message":"m"}`,
			"token:http_403", time.Second},
		{"oapi 403 qpsLimit lower case", "oapi", 403, `{"code":"forbidden.accessDenied.qpsLimitForApi"}`,
			"token:http_403", time.Second},
		// The old-style API's QPS limit, top level or under errcode 88: a second (was: at once).
		{"oapi 88 sub_code 90018", "oapi", 200, `{"errcode":88,"sub_code":"90018","errmsg":"qps"}`, "token:88/90018", time.Second},
		{"oapi 90018", "oapi", 200, `{"errcode":90018,"errmsg":"qps"}`, "token:90018", time.Second},
		// Barred for a while, or the IP ban's page: a minute (was: at once).
		{"oapi 90001", "oapi", 200, `{"errcode":90001}`, "token:90001", time.Minute},
		{"oapi 88 sub_code 90002", "oapi", 200, `{"errcode":88,"sub_code":"90002"}`, "token:88/90002", time.Minute},
		{"oapi 90020", "oapi", 200, `{"errcode":90020}`, "token:90020", 0},
		{"oapi html", "oapi", 200, "<html>banned</html>", "token:non_json_body", time.Minute},
		{"api 403 html", "api", 403, "<html>banned</html>", "token:non_json_body", time.Minute},
		{"oapi 403 html", "oapi", 403, "<html>banned</html>", "token:non_json_body", time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := tokenServer(t, tt.status, tt.body)
			f := fetcherKinds[tt.fetcher](srv.URL, appKey, appSecret, srv.Client())
			_, _, err := f.Fetch(context.Background())
			var de *dispatcher.Error
			if !errors.As(err, &de) || de.Decision != dispatcher.Retry || de.Code != tt.code || de.MinDelay != tt.delay || de.HTTPStatus != tt.status {
				t.Fatalf("Fetch() = %#v, want retry %q min %v http %d", de, tt.code, tt.delay, tt.status)
			}
			if strings.Contains(err.Error(), appSecret) {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func TestFetcherNetworkError(t *testing.T) {
	for name, newFetcher := range fetcherKinds {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.NotFoundHandler())
			srv.Close() // nothing listens any more
			f := newFetcher(srv.URL, appKey, appSecret, srv.Client())
			_, _, err := f.Fetch(context.Background())
			if err == nil {
				t.Fatal("Fetch() from a closed server succeeded")
			}
			if dispatcher.DecisionOf(err) != dispatcher.Retry {
				t.Errorf("decision %s, want retry", dispatcher.DecisionOf(err))
			}
			if msg := err.Error(); strings.Contains(msg, appSecret) || strings.Contains(msg, "appsecret") {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func TestFetcherBadConfig(t *testing.T) {
	tests := []struct {
		name, base, key, secret string
	}{
		{"relative base", "/x", appKey, appSecret},
		{"base with query", "https://h?appsecret=" + appSecret, appKey, appSecret},
		{"no key", "https://h", "", appSecret},
		{"no secret", "https://h", appKey, ""},
	}
	for _, tt := range tests {
		for name, newFetcher := range fetcherKinds {
			t.Run(tt.name+" "+name, func(t *testing.T) {
				_, _, err := newFetcher(tt.base, tt.key, tt.secret, nil).Fetch(context.Background())
				var de *dispatcher.Error
				if !errors.As(err, &de) || de.Decision != dispatcher.Retry || de.Code != "token:bad_config" {
					t.Fatalf("Fetch() = %v, want a retry with code token:bad_config", err)
				}
				if strings.Contains(err.Error(), appSecret) {
					t.Errorf("error shows the secret: %v", err)
				}
			})
		}
	}
}

func TestPrintingHidesSecrets(t *testing.T) {
	api := token.NewAPIFetcher("https://api.dingtalk.com", appKey, appSecret, nil)
	oapi := token.NewOAPIFetcher("https://oapi.dingtalk.com", appKey, appSecret, nil)
	cache := token.NewCache(token.FetcherFunc(func(context.Context) (string, time.Duration, error) {
		return "cached-tok", time.Hour, nil
	}), token.CacheConfig{})
	if _, err := cache.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{api, oapi, cache, token.Static("static-tok")} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			if s := fmt.Sprintf(verb, v); strings.Contains(s, appSecret) || strings.Contains(s, "cached-tok") || strings.Contains(s, "static-tok") {
				t.Errorf("%s of %T = %q", verb, v, s)
			}
		}
	}
}
