package sandbox

import (
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"
)

// Old-style token errors, on HTTP 200 like every /gettoken answer, worded as DingTalk words them.
const (
	// errcodeBadCredentials answers a /gettoken with a wrong appkey or appsecret.
	errcodeBadCredentials = 40096
	msgBadCredentials     = "不合法的appKey或appSecret"
	// errcodeMissingParam answers a /gettoken without an appkey (and a TOP API request without a
	// parameter it needs).
	errcodeMissingParam = 40035
	msgMissingAppKey    = "缺少参数 corpid or appkey"
)

// msgBadClient is the new-style token endpoint's message for HTTP 400 invalidClientIdOrSecret.
const msgBadClient = "无效的clientId或者clientSecret"

// handleAccessToken serves POST /v1.0/oauth2/accessToken.
func (s *Sandbox) handleAccessToken(w http.ResponseWriter, r *http.Request) {
	s.rec.tokenFetch()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
		writeAnswer(w, tooLargePage())
		return
	} else if err != nil {
		return // the client went away mid-body
	}
	if !s.tokenBan(w, r, body) {
		return
	}
	var req struct {
		AppKey    string `json:"appKey"`
		AppSecret string `json:"appSecret"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeAnswer(w, cardError(http.StatusBadRequest, "invalidParameter", "request body is not a JSON object", s.requestID()))
		return
	}
	if !s.cfg.credentialsOK(req.AppKey, req.AppSecret) {
		writeAnswer(w, cardError(http.StatusBadRequest, "invalidClientIdOrSecret", msgBadClient, s.requestID()))
		return
	}
	writeAnswer(w, jsonAnswer(http.StatusOK, struct {
		AccessToken string `json:"accessToken"`
		ExpireIn    int64  `json:"expireIn"`
	}{s.tokens.issue(req.AppKey, time.Now()), s.ttlSeconds()}))
}

// handleGetToken serves GET /gettoken?appkey=...&appsecret=....
func (s *Sandbox) handleGetToken(w http.ResponseWriter, r *http.Request) {
	s.rec.tokenFetch()
	if !s.tokenBan(w, r, []byte(r.URL.RawQuery)) {
		return
	}
	q := r.URL.Query()
	key, secret := q.Get("appkey"), q.Get("appsecret")
	switch {
	case key == "":
		writeAnswer(w, topError(errcodeMissingParam, "", msgMissingAppKey, ""))
		return
	case !s.cfg.credentialsOK(key, secret):
		writeAnswer(w, topError(errcodeBadCredentials, "", msgBadCredentials, ""))
		return
	}
	writeAnswer(w, jsonAnswer(http.StatusOK, struct {
		Errcode     int    `json:"errcode"`
		Errmsg      string `json:"errmsg"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}{0, "ok", s.tokens.issue(key, time.Now()), s.ttlSeconds()}))
}

// tokenBan answers a token fetch that an IP-ban fault ([PresetIPBan], of any kind) matches, by
// match (the body, or for GET the query), with the ban page after the fault's delay (nothing,
// when the client gives up meanwhile). It reports whether the fetch may go on.
func (s *Sandbox) tokenBan(w http.ResponseWriter, r *http.Request, match []byte) bool {
	f, ok := s.faults.matchBan(match)
	if !ok {
		return true
	}
	if wait(r.Context(), f.Delay) {
		writeAnswer(w, banPage(cmp.Or(f.Status, http.StatusForbidden)))
	}
	return false
}

func (s *Sandbox) ttlSeconds() int64 { return int64(s.cfg.TokenTTL / time.Second) }
