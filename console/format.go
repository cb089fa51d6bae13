package console

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dustin/go-humanize"
)

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"comma": func(n any) string {
		switch v := n.(type) {
		case int:
			return humanize.Comma(int64(v))
		case int64:
			return humanize.Comma(v)
		case uint64:
			return humanize.Comma(int64(v))
		}
		return fmt.Sprint(n)
	},
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return humanize.Time(t)
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"dur": func(d time.Duration) string {
		if d <= 0 {
			return "-"
		}
		return d.Round(time.Second).String()
	},
	"dash": func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	},
	"short":     func(s string) string { return shorten(s, 60) },
	"printable": printable,
	"seq":       func(n uint64) string { return strconv.FormatUint(n, 10) },
}

// shorten cuts s to at most n characters.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-3])) + "..."
}

// printable shows a header value as it is, or Go-quoted if it holds a control character or is
// not UTF-8: a producer on another client can send any byte but a line break.
func printable(v string) string {
	if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
		return strconv.Quote(v)
	}
	return v
}
