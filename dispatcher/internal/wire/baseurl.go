package wire

import (
	"fmt"
	"net/url"
	"strings"
)

// BaseURL checks that raw is an absolute http or https URL with a host and no user info, query or
// fragment, and returns it without its trailing slashes, ready for a path to be appended. A path
// prefix is kept ("http://127.0.0.1:8080/dingtalk" stays so). The error names the URL only
// through [RedactURL].
func BaseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("base URL %q does not parse", RedactURL(raw))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("base URL %q: scheme must be http or https", RedactURL(raw))
	case u.Host == "":
		return "", fmt.Errorf("base URL %q has no host", RedactURL(raw))
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("base URL %q may not carry user info, a query or a fragment", RedactURL(raw))
	}
	return strings.TrimRight(raw, "/"), nil
}
