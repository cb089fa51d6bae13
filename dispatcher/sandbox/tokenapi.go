package sandbox

import (
	"encoding/json"
	"net/http"
	"time"
)

// Old-style token errors, on HTTP 200 like every /gettoken answer.
const (
	// errcodeBadCredentials answers a /gettoken with a wrong, missing or empty appkey or
	// appsecret. DingTalk's code for "invalid corpid or corpsecret".
	errcodeBadCredentials = 40089
)

// handleAccessToken serves POST /v1.0/oauth2/accessToken.
func (s *Sandbox) handleAccessToken(w http.ResponseWriter, r *http.Request) {
	s.rec.tokenFetch()
	var req struct {
		AppKey    string `json:"appKey"`
		AppSecret string `json:"appSecret"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes)).Decode(&req); err != nil {
		writeAnswer(w, cardError(http.StatusBadRequest, "invalidParameter", "request body is not a JSON object", s.requestID()))
		return
	}
	if !s.cfg.credentialsOK(req.AppKey, req.AppSecret) {
		writeAnswer(w, cardError(http.StatusBadRequest, "invalidClientIdOrSecret", "invalid appKey or appSecret", s.requestID()))
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
	q := r.URL.Query()
	key, secret := q.Get("appkey"), q.Get("appsecret")
	if !s.cfg.credentialsOK(key, secret) {
		writeAnswer(w, topError(errcodeBadCredentials, "", "invalid appkey or appsecret", ""))
		return
	}
	writeAnswer(w, jsonAnswer(http.StatusOK, struct {
		Errcode     int    `json:"errcode"`
		Errmsg      string `json:"errmsg"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}{0, "ok", s.tokens.issue(key, time.Now()), s.ttlSeconds()}))
}

func (s *Sandbox) ttlSeconds() int64 { return int64(s.cfg.TokenTTL / time.Second) }
