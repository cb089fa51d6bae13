package ratelimit

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is a limit of N sends per Per. The zero Rate is "off": no limit.
type Rate struct {
	N   int
	Per time.Duration
}

// Off reports whether r sets no limit.
func (r Rate) Off() bool { return r.N == 0 }

// String renders r as ParseRate reads it: "20/1s", or "off".
func (r Rate) String() string {
	if r.Off() {
		return "off"
	}
	return strconv.Itoa(r.N) + "/" + shortDuration(r.Per)
}

// shortDuration writes whole hours, minutes or seconds as "1h", "1m", "2s" rather than
// time.Duration's "1h0m0s".
func shortDuration(d time.Duration) string {
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if d >= u.unit && d%u.unit == 0 {
			return strconv.FormatInt(int64(d/u.unit), 10) + u.name
		}
	}
	return d.String()
}

// ParseRate reads a rate written "N/duration" ("20/1s", "20/1m", "10/2s"; a bare unit such as
// "20/s" or "20/m" means one of it) or "off". N must be at least 1 and the duration at least 1 ms.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "off") {
		return Rate{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("rate %q: want N/duration such as 20/1s, or off", s)
	}
	count, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || count < 1 {
		return Rate{}, fmt.Errorf("rate %q: %q is not a whole number of at least 1", s, n)
	}
	per = strings.TrimSpace(per)
	if per != "" && (per[0] < '0' || per[0] > '9') {
		per = "1" + per // "s" -> "1s"
	}
	d, err := time.ParseDuration(per)
	if err != nil || d < time.Millisecond {
		return Rate{}, fmt.Errorf("rate %q: %q is not a duration of at least 1ms", s, per)
	}
	return Rate{N: count, Per: d}, nil
}
