package sandbox

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"sync"
	"time"
)

// tokenState is what the sandbox knows of a token a send carries.
type tokenState int

const (
	tokenLive    tokenState = iota
	tokenUnknown            // never issued, replaced by a newer one, or empty
	tokenExpired            // issued, and its life is over
)

// tokenStore issues app access tokens: one per app key, which a fetch within its life returns
// again and extends. Tokens of different apps are all good for any send. Safe for concurrent use.
type tokenStore struct {
	ttl time.Duration

	mu      sync.RWMutex
	byApp   map[string]*issuedToken
	byValue map[string]*issuedToken
}

type issuedToken struct {
	value   string
	app     string
	expires time.Time
}

func newTokenStore(ttl time.Duration) *tokenStore {
	return &tokenStore{
		ttl:     ttl,
		byApp:   make(map[string]*issuedToken),
		byValue: make(map[string]*issuedToken),
	}
}

// issue returns app's live token, extended, or a new one when it has none.
func (s *tokenStore) issue(app string, now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byApp[app]
	if t == nil || !now.Before(t.expires) {
		if t != nil {
			delete(s.byValue, t.value)
		}
		t = &issuedToken{value: newTokenValue(), app: app}
		s.byApp[app] = t
		s.byValue[t.value] = t
	}
	t.expires = now.Add(s.ttl)
	return t.value
}

// check reports the state of the token value.
func (s *tokenStore) check(value string, now time.Time) tokenState {
	if value == "" {
		return tokenUnknown
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.byValue[value]
	switch {
	case t == nil:
		return tokenUnknown
	case !now.Before(t.expires):
		return tokenExpired
	}
	return tokenLive
}

// expireAll ends the life of every issued token; the next fetch of each app gets a new one.
func (s *tokenStore) expireAll(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.byApp {
		t.expires = now
	}
}

// newTokenValue returns 32 random hex digits, the shape of a DingTalk access token.
func newTokenValue() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// credentialsOK reports whether key and secret are accepted: non-empty, and equal to the
// configured ones where those are set.
func (c Config) credentialsOK(key, secret string) bool {
	return matches(c.AppKey, key) && matches(c.AppSecret, secret)
}

// matches reports whether got is non-empty and, when want is set, equal to it.
func matches(want, got string) bool {
	if got == "" {
		return false
	}
	return want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// ExpireTokens ends the life of every app token issued so far, as if their TTL had passed:
// sends that carry one get the kind's token-expired answer until the client fetches a new one.
// The kdocs relay token is not affected. Safe for concurrent use.
func (s *Sandbox) ExpireTokens() { s.tokens.expireAll(time.Now()) }
