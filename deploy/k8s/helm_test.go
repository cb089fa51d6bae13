package k8s

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/conf"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
)

var (
	natsValuesFile = filepath.Join("..", "helm", "nats-values.yaml")
	natsServerConf = filepath.Join("..", "nats", "nats-server.conf")
)

// natsValues mirrors the keys of the NATS chart's values.yaml (github.com/nats-io/k8s,
// helm/charts/nats, 1.x) that nats-values.yaml sets, at the paths the chart reads them from. Helm
// ignores a key the chart does not read; here it is an error.
type natsValues struct {
	Config struct {
		Cluster struct {
			Enabled  bool `json:"enabled"`
			Replicas int  `json:"replicas"`
		} `json:"cluster"`
		JetStream struct {
			Enabled   bool `json:"enabled"`
			FileStore struct {
				Enabled bool   `json:"enabled"`
				Dir     string `json:"dir,omitempty"`
				MaxSize string `json:"maxSize,omitempty"` // NATS units: 8Gi
				PVC     struct {
					Enabled          bool              `json:"enabled"`
					Size             resource.Quantity `json:"size"`
					StorageClassName *string           `json:"storageClassName,omitempty"`
				} `json:"pvc"`
			} `json:"fileStore"`
		} `json:"jetstream"`
		Monitor struct {
			Enabled bool `json:"enabled"`
			Port    int  `json:"port"`
		} `json:"monitor"`
		// Merge is raw nats-server configuration, merged into the chart's; the NATS configuration
		// parser checks it (TestHelmAccountsAreTheServerConf).
		Merge map[string]any `json:"merge,omitempty"`
	} `json:"config"`
	Container struct {
		// Env is the chart's map of variables: a value is a string, or an EnvVar without its name.
		Env   map[string]json.RawMessage `json:"env,omitempty"`
		Merge corev1.Container           `json:"merge"` // merged into the nats container
	} `json:"container"`
	PodTemplate struct {
		// TopologySpreadConstraints are keyed by topologyKey; the chart adds the label selector.
		TopologySpreadConstraints map[string]corev1.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`
	} `json:"podTemplate"`
}

func readNATSValues(t *testing.T) natsValues {
	t.Helper()
	data, err := os.ReadFile(natsValuesFile)
	if err != nil {
		t.Fatal(err)
	}
	var v natsValues
	if err := decodeStrict(data, &v); err != nil {
		t.Fatalf("%s: %v", natsValuesFile, err)
	}
	return v
}

// env decodes the chart's container.env map.
func (v natsValues) env(t *testing.T) map[string]corev1.EnvVar {
	t.Helper()
	out := map[string]corev1.EnvVar{}
	for name, raw := range v.Container.Env {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			out[name] = corev1.EnvVar{Name: name, Value: s}
			continue
		}
		var e corev1.EnvVar
		if err := decodeStrict(raw, &e); err != nil { // JSON is YAML
			t.Fatalf("%s: container.env.%s: %v", natsValuesFile, name, err)
		}
		e.Name = name
		out[name] = e
	}
	return out
}

// The chart runs a JetStream cluster large enough for the replicas dingq asks for, with a file
// store that JetStream fills before the volume, and reads every password it refers to from a
// Secret.
func TestHelmValues(t *testing.T) {
	v := readNATSValues(t)
	b := loadBase(t)
	c := v.Config
	replicas, err := strconv.Atoi(setting(t, b, "DINGQ_REPLICAS"))
	if err != nil {
		t.Fatalf("DINGQ_REPLICAS %q: %v", setting(t, b, "DINGQ_REPLICAS"), err)
	}
	if !c.Cluster.Enabled || c.Cluster.Replicas < replicas || c.Cluster.Replicas < 3 {
		t.Errorf("config.cluster: enabled %v, replicas %d: want a cluster of at least 3 servers and DINGQ_REPLICAS (%d)", c.Cluster.Enabled, c.Cluster.Replicas, replicas)
	}
	js := c.JetStream
	if !js.Enabled || !js.FileStore.Enabled || !js.FileStore.PVC.Enabled || js.FileStore.PVC.Size.IsZero() {
		t.Errorf("config.jetstream: want JetStream with a file store on a PVC of a set size, got %+v", js)
	}
	if js.FileStore.MaxSize != "" {
		parsed, err := conf.Parse("max_file_store: " + js.FileStore.MaxSize)
		max, _ := parsed["max_file_store"].(int64)
		if err != nil || max <= 0 || max >= js.FileStore.PVC.Size.Value() {
			t.Errorf("config.jetstream.fileStore.maxSize %q (%d bytes, %v): want a size below the PVC's %s", js.FileStore.MaxSize, max, err, js.FileStore.PVC.Size.String())
		}
	}
	if !c.Monitor.Enabled || c.Monitor.Port == 0 {
		t.Errorf("config.monitor: enabled %v, port %d: KEDA and the chart's probes need it", c.Monitor.Enabled, c.Monitor.Port)
	}
	env := v.env(t)
	for _, name := range passwordVars(t, c.Merge) {
		e, ok := env[name]
		if !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("config.merge refers to $%s: container.env.%s must take it from a Secret (valueFrom.secretKeyRef)", name, name)
		}
	}
	limit := v.Container.Merge.Resources.Limits.Memory()
	if limit.IsZero() || v.Container.Merge.Resources.Requests.Memory().IsZero() {
		t.Errorf("container.merge.resources: want memory requests and limits, got %+v", v.Container.Merge.Resources)
	}
	if e, ok := env["GOMEMLIMIT"]; ok {
		if n, err := goMemLimit(e.Value); err != nil || n >= limit.Value() {
			t.Errorf("container.env.GOMEMLIMIT %q (%v): want a size below the memory limit %s", e.Value, err, limit.String())
		}
	}
	if len(v.PodTemplate.TopologySpreadConstraints) == 0 {
		t.Error("podTemplate.topologySpreadConstraints: spread the servers over nodes, or one node takes the JetStream majority with it")
	}
}

// The accounts the chart's servers get are those of deploy/nats/nats-server.conf, user for user
// and permission for permission: the permissions are commented and tested there.
func TestHelmAccountsAreTheServerConf(t *testing.T) {
	for _, user := range []string{"PRODUCER", "ORDERS", "SALES", "WORKER", "OPERATOR", "CONSOLE"} {
		t.Setenv("DINGQ_"+user+"_PASSWORD", strings.ToLower(user)+"-pw")
	}
	want, err := conf.ParseFile(natsServerConf)
	if err != nil {
		t.Fatal(err)
	}
	got := renderedMerge(t, readNATSValues(t).Config.Merge)
	if d := firstDifference("accounts", want["accounts"], got["accounts"]); d != "" {
		t.Errorf("config.merge.accounts of %s differs from the accounts of %s: %s", natsValuesFile, natsServerConf, d)
	}
}

// accountOf returns the account of a NATS user in the chart's values.
func accountOf(t *testing.T, user string) string {
	t.Helper()
	accounts, _ := readNATSValues(t).Config.Merge["accounts"].(map[string]any)
	for name, acc := range accounts {
		users, _ := acc.(map[string]any)["users"].([]any)
		for _, u := range users {
			if m, _ := u.(map[string]any); m["user"] == user {
				return name
			}
		}
	}
	t.Fatalf("%s has no NATS user %q in config.merge.accounts", natsValuesFile, user)
	return ""
}

// rawValue is the chart's "<< ... >>": a JSON string it writes into the configuration unquoted
// (nats.formatConfig in the chart's _helpers.tpl).
var rawValue = regexp.MustCompile(`"<<\s+(.*)\s+>>"`)

// renderedMerge renders config.merge as the chart does, JSON with raw values unquoted, and parses
// it with the NATS configuration parser, which resolves $VARIABLES from the environment.
func renderedMerge(t *testing.T, merge map[string]any) map[string]any {
	t.Helper()
	rendered := rawValue.ReplaceAllString(rawJSON(t, merge), "$1")
	parsed, err := conf.Parse(rendered)
	if err != nil {
		t.Fatalf("config.merge is not a valid NATS configuration: %v\n%s", err, rendered)
	}
	return parsed
}

// rawJSON encodes v as the chart's toPrettyRawJson does: indented, with <, > and & as they are.
func rawJSON(t *testing.T, v any) string {
	t.Helper()
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// passwordVars returns the variables the raw values of config.merge name ($DINGQ_WORKER_PASSWORD).
func passwordVars(t *testing.T, merge map[string]any) []string {
	t.Helper()
	vars := sets.New[string]()
	for _, m := range rawValue.FindAllStringSubmatch(rawJSON(t, merge), -1) {
		for _, v := range regexp.MustCompile(`\$([A-Za-z_][A-Za-z0-9_]*)`).FindAllStringSubmatch(m[1], -1) {
			vars.Insert(v[1])
		}
	}
	return sets.List(vars)
}

// firstDifference describes where two parsed configurations first differ, or returns "".
func firstDifference(path string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: the conf has a map, the values %T", path, got)
		}
		keys := sets.List(sets.KeySet(w).Union(sets.KeySet(g)))
		for _, k := range keys {
			if d := firstDifference(path+"."+k, w[k], g[k]); d != "" {
				return d
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Sprintf("%s: the conf has a list, the values %T", path, got)
		}
		for i := range max(len(w), len(g)) {
			if i >= len(w) || i >= len(g) {
				return fmt.Sprintf("%s: the conf has %d entries, the values %d", path, len(w), len(g))
			}
			if d := firstDifference(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); d != "" {
				return d
			}
		}
		return ""
	}
	if !reflect.DeepEqual(want, got) {
		return fmt.Sprintf("%s: the conf has %v, the values %v", path, want, got)
	}
	return ""
}

// goMemLimit parses a GOMEMLIMIT value: a whole number of bytes with an optional unit B, KiB,
// MiB, GiB or TiB (runtime/debug.SetMemoryLimit).
func goMemLimit(s string) (int64, error) {
	mult := int64(1)
	for i, unit := range []string{"TiB", "GiB", "MiB", "KiB", "B"} {
		if n, ok := strings.CutSuffix(s, unit); ok {
			s, mult = n, 1<<(10*(4-i))
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}
