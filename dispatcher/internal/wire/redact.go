package wire

import (
	"errors"
	"net/url"
	"strings"
)

// RedactURL returns raw without its query string, fragment and user info, the parts that carry
// access tokens, app secrets and signatures. A raw that does not parse is cut at its first '?' or
// '#' and loses anything before an '@'.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			raw = raw[:i]
		}
		if i := strings.LastIndexByte(raw, '@'); i >= 0 {
			raw = raw[i+1:]
		}
		return raw
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = "", false, "", "", nil
	return u.String()
}

// Redact returns err's [*url.Error] (the type of every [net/http.Client] failure, whose text is
// `Op "URL": Err`) as a copy whose URL went through [RedactURL]. The copy keeps Op and Err, so
// errors.Is(err, context.DeadlineExceeded) and the Timeout method still work. When the *url.Error
// is wrapped inside another error, only the copy is returned, since the wrapper's text holds the
// URL too. Any other error, and nil, is returned as it is.
func Redact(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	return &url.Error{Op: ue.Op, URL: RedactURL(ue.URL), Err: ue.Err}
}
