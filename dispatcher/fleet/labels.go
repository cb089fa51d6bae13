package fleet

import (
	"slices"
	"strings"

	"github.com/dingq/dingq/dispatcher/ratelimit"
	"github.com/dingq/dingq/dispatcher/token"
	"github.com/dingq/dingq/schema"
)

// DefaultAppLabel names the default app ("" in [Config.Apps]) in the labels of [Labels].
const DefaultAppLabel = "(default)"

// Labels returns a label for each key a fleet built from cfg keeps in its buckets, so that an
// operator sees names rather than hashes:
//
//   - in the Limits bucket (the keys [ratelimit.Inspect] reports), each app's APIs, "app sales:
//     card", "app sales: card-deliver" and "app sales: crossdomain", and each named robot's
//     webhook, "robot ops-alerts";
//   - in the Tokens bucket (the keys [token.InspectShared] reports), each app's tokens from the
//     new-style and the old-style token API, "app sales: api" and "app (default): oapi".
//
// The default app is [DefaultAppLabel]. Apps that share a key share its limits and tokens, and
// robots that share a webhook its limit: the label names them all, "apps sales, twin: card". An
// app without a key has no limits or tokens, and a robot that jobs link to by its webhook's URL
// rather than by name has no label. A label holds names only: no app key or secret, no
// webhook's access_token, no robot's secret. The keys are built as the fleet's sender builds
// them, whether or not a rate is set.
func Labels(cfg Config) map[string]string {
	type group struct {
		noun  string   // "app" or "robot"
		names []string // whose key it is
		what  string   // the API or token API, for apps
	}
	groups := map[string]*group{}
	add := func(key, noun, name, what string) {
		g, ok := groups[key]
		if !ok {
			g = &group{noun: noun, what: what}
			groups[key] = g
		}
		g.names = append(g.names, name)
	}
	for name, app := range cfg.Apps {
		if app.Key == "" {
			continue
		}
		if name == "" {
			name = DefaultAppLabel
		}
		for _, api := range []string{string(schema.KindCard), apiCardDeliver, string(schema.KindCrossDomain)} {
			add(ratelimit.BucketKey(apiTarget(app.Key, api)), "app", name, api)
		}
		for _, api := range []string{tokenAPI, tokenOAPI} {
			add(token.SharedKey(api, app.Key), "app", name, api)
		}
	}
	for name, r := range cfg.Robots {
		add(ratelimit.BucketKey(robotTarget(webhookTarget(r))), "robot", name, "")
	}
	labels := make(map[string]string, len(groups))
	for key, g := range groups {
		slices.Sort(g.names)
		label := g.noun
		if len(g.names) > 1 {
			label += "s"
		}
		label += " " + strings.Join(g.names, ", ")
		if g.what != "" {
			label += ": " + g.what
		}
		labels[key] = label
	}
	return labels
}
