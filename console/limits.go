package console

import (
	"context"
	"net/http"
	"time"

	"github.com/dingq/dingq/dispatcher/ratelimit"
	"github.com/dingq/dingq/dispatcher/token"
)

// limits is GET /limits: each rate-limited target's next turn and penalty, and each app's token
// fetch: when, until when, and any failure; never a token.
func (c *Console) limits(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	type target struct {
		ratelimit.TargetState
		Label     string
		Penalized bool
		Wait      time.Duration // until the next free turn; 0 when free
	}
	type tok struct {
		token.SharedState
		Label     string
		Age, Left time.Duration
		Expired   bool
	}
	data := struct {
		Targets   []target
		Tokens    []tok
		TargetErr string
		TokenErr  string
	}{}
	now := time.Now()
	if kv, err := c.cfg.JS.KeyValue(ctx, c.cfg.Names.LimitBucket()); err != nil {
		data.TargetErr = err.Error()
	} else if states, err := ratelimit.Inspect(ctx, kv); err != nil {
		data.TargetErr = err.Error()
	} else {
		for _, s := range states {
			t := target{TargetState: s, Label: c.label(s.Key, s.Target), Penalized: s.Penalized(now)}
			if s.Next.After(now) {
				t.Wait = s.Next.Sub(now)
			}
			data.Targets = append(data.Targets, t)
		}
	}
	if kv, err := c.cfg.JS.KeyValue(ctx, c.cfg.Names.TokenBucket()); err != nil {
		data.TokenErr = err.Error()
	} else if states, err := token.InspectShared(ctx, kv); err != nil {
		data.TokenErr = err.Error()
	} else {
		for _, s := range states {
			t := tok{SharedState: s, Label: c.label(s.Key, ""), Age: s.Age(now), Expired: s.HasToken && !s.Expires.After(now)}
			if s.Expires.After(now) {
				t.Left = s.Expires.Sub(now)
			}
			data.Tokens = append(data.Tokens, t)
		}
	}
	c.render(w, r, "limits", "Limits and tokens", data)
}

// label names a bucket key for a person: the fleet's label, else the target's name, else the key.
func (c *Console) label(key, target string) string {
	if l := c.cfg.Labels[key]; l != "" {
		return l
	}
	if target != "" {
		return target
	}
	return key
}
