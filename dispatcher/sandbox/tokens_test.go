package sandbox

import (
	"testing"
	"time"

	"github.com/dingq/dingq/schema"
)

func TestAccessToken(t *testing.T) {
	e := newEnv(t, Config{AppKey: "key", AppSecret: "secret"})

	ok := e.do(e.request("POST", "/v1.0/oauth2/accessToken", `{"appKey":"key","appSecret":"secret"}`))
	if ok.status != 200 || keys(ok.json) != "accessToken,expireIn" || ok.json["expireIn"] != 7200.0 {
		t.Fatalf("good credentials: %d %s", ok.status, ok.raw)
	}
	if again := e.appToken(); again != ok.json["accessToken"] {
		t.Errorf("a fetch within the token's life gave %q, want the same token %q", again, ok.json["accessToken"])
	}

	for name, body := range map[string]string{
		"wrong secret": `{"appKey":"key","appSecret":"nope"}`,
		"wrong key":    `{"appKey":"other","appSecret":"secret"}`,
		"empty":        `{}`,
	} {
		r := e.do(e.request("POST", "/v1.0/oauth2/accessToken", body))
		if r.status != 400 || r.json["code"] != "invalidClientIdOrSecret" || r.json["message"] != "无效的clientId或者clientSecret" ||
			keys(r.json) != "code,message,requestid" {
			t.Errorf("%s: %d %s, want 400 invalidClientIdOrSecret", name, r.status, r.raw)
		}
	}
	r := e.do(e.request("POST", "/v1.0/oauth2/accessToken", `not json`))
	if r.status != 400 || r.json["code"] != "invalidParameter" {
		t.Errorf("not JSON: %d %s, want 400 invalidParameter", r.status, r.raw)
	}
	if got := e.sb.TokenFetches(); got != 6 {
		t.Errorf("TokenFetches = %d, want 6 (refusals count)", got)
	}
}

func TestAccessTokenAnyCredentials(t *testing.T) {
	e := newEnv(t, Config{})
	r := e.do(e.request("POST", "/v1.0/oauth2/accessToken", `{"appKey":"whatever","appSecret":"x"}`))
	if r.status != 200 {
		t.Errorf("any credentials: %d %s, want 200", r.status, r.raw)
	}
	r = e.do(e.request("POST", "/v1.0/oauth2/accessToken", `{"appKey":"whatever","appSecret":""}`))
	if r.status != 400 {
		t.Errorf("empty secret: %d %s, want 400", r.status, r.raw)
	}
}

func TestGetToken(t *testing.T) {
	e := newEnv(t, Config{AppKey: "key", AppSecret: "secret", TokenTTL: time.Hour})

	ok := e.do(e.request("GET", "/gettoken?appkey=key&appsecret=secret", ""))
	if ok.status != 200 || ok.json["errcode"] != 0.0 || ok.json["errmsg"] != "ok" || ok.json["expires_in"] != 3600.0 {
		t.Fatalf("good credentials: %d %s", ok.status, ok.raw)
	}
	// Both endpoints hand out the same app's token, and it is good for either API.
	if tok := e.appToken(); tok != ok.json["access_token"] {
		t.Errorf("new-style fetch gave %q, want the old-style token %q", tok, ok.json["access_token"])
	}
	if r := e.send(schema.KindCard, ok.json["access_token"].(string), cardBody); r.status != 200 {
		t.Errorf("card send with a /gettoken token: %d %s", r.status, r.raw)
	}

	for _, tc := range []struct {
		query   string
		errcode float64
		errmsg  string
	}{
		{"appkey=key&appsecret=nope", 40096, "不合法的appKey或appSecret"},
		{"appkey=key", 40096, "不合法的appKey或appSecret"},
		{"appkey=other&appsecret=secret", 40096, "不合法的appKey或appSecret"},
		{"appsecret=secret", 40035, "缺少参数 corpid or appkey"},
		{"", 40035, "缺少参数 corpid or appkey"},
	} {
		r := e.do(e.request("GET", "/gettoken?"+tc.query, ""))
		if r.status != 200 || r.json["errcode"] != tc.errcode || r.json["errmsg"] != tc.errmsg || keys(r.json) != "errcode,errmsg" {
			t.Errorf("%q: %d %s, want 200 errcode %v %q", tc.query, r.status, r.raw, tc.errcode, tc.errmsg)
		}
	}
}

func TestExpireTokens(t *testing.T) {
	e := newEnv(t, Config{})
	old := e.appToken()
	e.sb.ExpireTokens()

	card := e.send(schema.KindCard, old, cardBody)
	if card.status != 400 || card.json["code"] != "InvalidAuthentication" {
		t.Errorf("card with an expired token: %d %s, want 400 InvalidAuthentication", card.status, card.raw)
	}
	cd := e.send(schema.KindCrossDomain, old, wrap(crossDomainModel))
	if cd.status != 200 || cd.json["errcode"] != 88.0 || cd.json["sub_code"] != "42001" ||
		cd.json["errmsg"] != "ding talk error[subcode=42001,submsg=access_token超时]" {
		t.Errorf("crossdomain with an expired token: %d %s, want errcode 88 sub_code \"42001\"", cd.status, cd.raw)
	}

	fresh := e.appToken()
	if fresh == old {
		t.Fatal("a fetch after ExpireTokens returned the expired token")
	}
	if r := e.send(schema.KindCard, fresh, cardBody); r.status != 200 {
		t.Errorf("card with the new token: %d %s", r.status, r.raw)
	}
	// The replaced token is now unknown, not merely expired.
	if r := e.send(schema.KindCrossDomain, old, wrap(crossDomainModel)); r.json["sub_code"] != "40014" {
		t.Errorf("crossdomain with a replaced token: %s, want sub_code \"40014\"", r.raw)
	}
	if n := e.sb.Stats().Outcomes[schema.KindCard][OutcomeTokenInvalid]; n != 1 {
		t.Errorf("card token_invalid outcomes = %d, want 1", n)
	}
}

func TestTokenTTL(t *testing.T) {
	e := newEnv(t, Config{TokenTTL: time.Nanosecond}) // dead on arrival
	if r := e.send(schema.KindCard, e.appToken(), cardBody); r.json["code"] != "InvalidAuthentication" {
		t.Errorf("card with a token past its TTL: %d %s, want InvalidAuthentication", r.status, r.raw)
	}
}
