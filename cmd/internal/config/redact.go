package config

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// redacted stands in for a secret that is set; an unset one stays empty, so that a printed
// configuration still shows which secrets are there.
const redacted = "[redacted]"

// String shows every setting, with passwords, tokens, app keys and secrets redacted, and URLs
// without their user info and query.
func (c Config) String() string {
	type plain Config // no methods: Sprintf does not come back here
	return fmt.Sprintf("config.Config%+v", plain(c.redacted()))
}

// GoString is String, for %#v.
func (c Config) GoString() string { return c.String() }

// Format prints String whatever the verb, so that no verb (%d, %x) reaches a secret field.
func (c Config) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// MarshalJSON encodes c with its secrets redacted, as String shows them.
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config
	return json.Marshal(plain(c.redacted()))
}

func (c Config) redacted() Config {
	c.NATSURL = redactURLs(c.NATSURL)
	c.NATSPassword, c.NATSToken = hide(c.NATSPassword), hide(c.NATSToken)
	c.APIURL, c.OAPIURL, c.KdocsURL = redactURL(c.APIURL), redactURL(c.OAPIURL), redactURL(c.KdocsURL)
	c.AppKey, c.AppSecret, c.KdocsToken = hide(c.AppKey), hide(c.AppSecret), hide(c.KdocsToken)
	c.Apps = mapValues(c.Apps, App.redacted)
	c.Robots = mapValues(c.Robots, Robot.redacted)
	c.file = fileSettings{} // its profiles are in Apps and Robots; fmt would print them raw
	return c
}

// String shows which credentials a is set with, never their values.
func (a App) String() string {
	type plain App
	return fmt.Sprintf("config.App%+v", plain(a.redacted()))
}

// GoString is String, for %#v.
func (a App) GoString() string { return a.String() }

// Format prints String whatever the verb.
func (a App) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, a.String()) }

// MarshalJSON encodes a with its values redacted, as String shows them.
func (a App) MarshalJSON() ([]byte, error) {
	type plain App
	return json.Marshal(plain(a.redacted()))
}

func (a App) redacted() App {
	return App{AppKey: hide(a.AppKey), AppSecret: hide(a.AppSecret), KdocsToken: hide(a.KdocsToken)}
}

// String shows r's webhook without its query (the access token), and whether it has a secret.
func (r Robot) String() string {
	type plain Robot
	return fmt.Sprintf("config.Robot%+v", plain(r.redacted()))
}

// GoString is String, for %#v.
func (r Robot) GoString() string { return r.String() }

// Format prints String whatever the verb.
func (r Robot) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, r.String()) }

// MarshalJSON encodes r with its access token and secret redacted, as String shows them.
func (r Robot) MarshalJSON() ([]byte, error) {
	type plain Robot
	return json.Marshal(plain(r.redacted()))
}

func (r Robot) redacted() Robot {
	return Robot{Webhook: redactWebhook(r.Webhook), Secret: hide(r.Secret)}
}

// redactWebhook keeps a webhook's scheme, host and path, and redacts its query. A value that is
// not an absolute URL may be a bare token, so all of it is redacted.
func redactWebhook(s string) string {
	p, err := url.Parse(s)
	if err != nil || p.Scheme == "" || p.Host == "" {
		return hide(s)
	}
	p.User, p.Fragment, p.RawFragment = nil, "", ""
	if p.RawQuery != "" {
		p.RawQuery = redacted
	}
	return p.String()
}

// redactURLs is redactURL of each URL of a comma-separated list.
func redactURLs(s string) string {
	urls := splitURLs(s)
	for i, u := range urls {
		urls[i] = redactURL(u)
	}
	return strings.Join(urls, ",")
}

func hide(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

func mapValues[V any](m map[string]V, f func(V) V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = f(v)
	}
	return out
}
