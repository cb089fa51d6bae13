package console

import (
	"fmt"
	"html/template"
	"strconv"
	"time"

	"github.com/dingq/dingq/worker/deadletters"
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
	"short":     func(s string) string { return deadletters.Shorten(s, 60) },
	"printable": deadletters.Printable,
	"seq":       func(n uint64) string { return strconv.FormatUint(n, 10) },
}
