package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// cookieName is the session cookie a login sets.
const cookieName = "dingq_console"

// CheckListen refuses to serve on addr without a token unless addr is a loopback address
// (127.0.0.0/8, ::1 or localhost): a console anyone on the network can reach must ask who is
// there.
func CheckListen(addr, token string) error {
	if token != "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return errors.New("refusing to serve the console on " + addr + " without a token: it is not a loopback address; " +
		"set DINGQ_CONSOLE_TOKEN, or listen on 127.0.0.1")
}

// session is the value of the cookie a login sets: derived from the token, so that it is valid
// across restarts and replicas of one console, and invalid once the token changes. It is not the
// token itself.
func session(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("dingq-console-session-v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// authorized reports whether r carries the token: as "Authorization: Bearer <token>", or the
// session cookie of a login. An open console (no token) authorizes everyone.
func (c *Console) authorized(r *http.Request) bool {
	if c.cfg.Token == "" {
		return true
	}
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return subtle.ConstantTimeCompare([]byte(bearer), []byte(c.cfg.Token)) == 1
	}
	if ck, err := r.Cookie(cookieName); err == nil {
		return subtle.ConstantTimeCompare([]byte(ck.Value), []byte(c.session)) == 1
	}
	return false
}

// csrfToken is the hidden field every form carries, bound to this console's secret and, with a
// token, to the session: a page of another site cannot know it.
func (c *Console) csrfToken() string {
	m := hmac.New(sha256.New, c.secret)
	m.Write([]byte("csrf:" + c.session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF reports whether a POST carries this console's form token.
func (c *Console) checkCSRF(r *http.Request) bool {
	return subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(c.csrfToken())) == 1
}

// login is GET and POST /login: a form for the token, and the cookie once it is right.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if c.cfg.Token == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	data := map[string]any{"Error": ""}
	if r.Method == http.MethodPost {
		given := r.PostFormValue("token")
		if subtle.ConstantTimeCompare([]byte(given), []byte(c.cfg.Token)) == 1 {
			http.SetCookie(w, &http.Cookie{Name: cookieName, Value: c.session, Path: "/", HttpOnly: true,
				Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: int((12 * time.Hour).Seconds())})
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		c.log.Warn().Str("remote", r.RemoteAddr).Msg("console login refused: wrong token")
		w.WriteHeader(http.StatusUnauthorized)
		data["Error"] = "That is not the console's token."
	}
	c.render(w, r, "login", "Log in", data)
}

// logout is POST /logout: the cookie is cleared.
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, MaxAge: -1, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
