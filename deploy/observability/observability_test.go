package observability

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// ruleFile mirrors a Prometheus rule file, as far as alerting rules go.
type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// dashboard is the part of a Grafana dashboard the tests look at.
type dashboard struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID      int    `json:"id"`
		Title   string `json:"title"`
		Type    string `json:"type"`
		GridPos struct {
			H, W, X, Y int
		} `json:"gridPos"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func TestAlertRules(t *testing.T) {
	data, err := os.ReadFile("prometheus-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var rf ruleFile
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("prometheus-alerts.yml: %v", err)
	}
	if len(rf.Groups) == 0 {
		t.Fatal("no rule groups")
	}
	var alerts []string
	for _, g := range rf.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: want a name and rules", g.Name)
		}
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			if r.Alert == "" || strings.TrimSpace(r.Expr) == "" {
				t.Errorf("group %s: a rule without alert name or expr: %+v", g.Name, r)
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for: %v", r.Alert, err)
				}
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q, want warning or critical", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: want a summary and a description", r.Alert)
			}
			checkExpr(t, r.Alert, r.Expr)
		}
	}
	for _, want := range []string{"DeadLettersGrowing", "BacklogAge", "ErrorRatio", "WorkerDown"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s", want)
		}
	}
}

func TestAlertRulesRefuseUnknownFields(t *testing.T) {
	dec := yaml.NewDecoder(strings.NewReader("groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: up\n        fro: 5m\n"))
	dec.KnownFields(true)
	var rf ruleFile
	if err := dec.Decode(&rf); err == nil {
		t.Error("a misspelt field was accepted: the strict decoding checks nothing")
	}
}

func TestDashboard(t *testing.T) {
	data, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion == 0 || len(d.Panels) == 0 {
		t.Fatalf("want uid, title, schemaVersion and panels; got uid %q title %q schemaVersion %d, %d panels",
			d.UID, d.Title, d.SchemaVersion, len(d.Panels))
	}
	var titles []string
	used := map[string]bool{}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		titles = append(titles, p.Title)
		if p.Title == "" || p.Type == "" || p.GridPos.W <= 0 || p.GridPos.H <= 0 || len(p.Targets) == 0 {
			t.Errorf("panel %d %q: want a title, a type, a size and targets", p.ID, p.Title)
		}
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		for _, tg := range p.Targets {
			if tg.RefID == "" {
				t.Errorf("panel %q: a target without refId", p.Title)
			}
			for _, name := range checkExpr(t, p.Title, tg.Expr) {
				used[name] = true
			}
		}
	}
	for _, want := range []string{"Jobs/s by outcome", "Send latency", "Sends in flight", "Backlog and unacknowledged jobs",
		"Backlog age", "Dead letters", "Error ratio", "Token fetches"} {
		if !slices.Contains(titles, want) {
			t.Errorf("no panel %q", want)
		}
	}
	for _, name := range MetricNames {
		if !used[name] {
			t.Errorf("metric %s is on no panel", name)
		}
	}
	if !hasVariable(d, "datasource", "datasource") {
		t.Error("no datasource variable: the dashboard cannot be imported into another Grafana")
	}
}

func hasVariable(d dashboard, name, typ string) bool {
	for _, v := range d.Templating.List {
		if v.Name == name && v.Type == typ {
			return true
		}
	}
	return false
}

var metricName = regexp.MustCompile(`\bdingq_[a-z0-9_]+`)

// checkExpr reports an expression whose brackets do not pair, or that uses a dingq metric the
// worker does not export, and returns the metrics it uses.
func checkExpr(t *testing.T, where, expr string) []string {
	t.Helper()
	if !balanced(expr) {
		t.Errorf("%s: brackets do not pair in %q", where, expr)
	}
	var names []string
	for _, name := range metricName.FindAllString(expr, -1) {
		base := name
		if !slices.Contains(MetricNames, name) {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				base = strings.TrimSuffix(base, suffix)
			}
		}
		if !slices.Contains(MetricNames, base) {
			t.Errorf("%s: %s is not a metric dingq exports", where, name)
		}
		names = append(names, base)
	}
	return names
}

// balanced reports whether every (, [ and { in expr is closed in order, outside quoted strings.
func balanced(expr string) bool {
	var stack []rune
	var quote rune
	for _, r := range expr {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'' || r == '`':
			quote = r
		case r == '(' || r == '[' || r == '{':
			stack = append(stack, r)
		case r == ')' || r == ']' || r == '}':
			open := map[rune]rune{')': '(', ']': '[', '}': '{'}[r]
			if len(stack) == 0 || stack[len(stack)-1] != open {
				return false
			}
			stack = stack[:len(stack)-1]
		}
	}
	return len(stack) == 0 && quote == 0
}

func TestMetricNamesAreWellFormed(t *testing.T) {
	seen := map[string]bool{}
	valid := regexp.MustCompile(`^dingq_[a-z][a-z0-9_]*[a-z0-9]$`)
	for _, name := range MetricNames {
		if !valid.MatchString(name) || seen[name] {
			t.Errorf("metric name %q: malformed or listed twice", name)
		}
		seen[name] = true
	}
}
