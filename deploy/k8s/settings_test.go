package k8s

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// configSource is the package that defines every DINGQ_* setting. It is internal to cmd/, so the
// tests read its source rather than import it: the settings below follow it with no list to keep.
var configSource = filepath.Join("..", "..", "cmd", "internal", "config")

// settings is what dingq reads from its environment.
type settings struct {
	vars     map[string]bool // DINGQ_ and each flag's name: DINGQ_NATS_URL
	profiles *regexp.Regexp  // DINGQ_APP_<NAME>_<SETTING> and DINGQ_ROBOT_<NAME>_<SETTING>
}

func (s settings) has(name string) bool { return s.vars[name] || s.profiles.MatchString(name) }

// readSettings finds, in the config package's source, every flag its FlagSets register
// (fs.StringVar(&c.NATSURL, "nats-url", ...), fs.Var(v, "rate-api", ...)) and the settings of the
// app and robot profiles (appSettings, robotSettings). Its variable is config.EnvName's:
// "nats-url" is DINGQ_NATS_URL.
func readSettings(t *testing.T) settings {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(configSource, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var parsed []*ast.File
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, file)
	}
	consts, lists := stringDecls(parsed)
	s := settings{vars: map[string]bool{}}
	for _, file := range parsed {
		ast.Inspect(file, func(n ast.Node) bool {
			if name, ok := flagName(n, consts); ok {
				s.vars["DINGQ_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))] = true
			}
			return true
		})
	}
	// The parse must still understand the package: these are sure to be there.
	for _, v := range []string{"DINGQ_NATS_URL", "DINGQ_HTTP_ADDR", "DINGQ_REPLICAS", "DINGQ_SHUTDOWN_TIMEOUT", "DINGQ_RATE_API", "DINGQ_CONFIG"} {
		if !s.vars[v] {
			t.Fatalf("%s is not among the flags found in %s: readSettings no longer understands how it registers flags", v, configSource)
		}
	}
	app, robot := lists["appSettings"], lists["robotSettings"]
	if len(app) == 0 || len(robot) == 0 {
		t.Fatalf("appSettings or robotSettings not found in %s", configSource)
	}
	s.profiles = regexp.MustCompile(`^DINGQ_APP_[A-Za-z0-9_]+_(` + strings.Join(app, "|") + `)$|^DINGQ_ROBOT_[A-Za-z0-9_]+_(` + strings.Join(robot, "|") + `)$`)
	return s
}

// flagName returns the flag a call fs.XxxVar(p, name, ...), fs.Var(v, name, ...) or
// fs.Xxx(name, ...) defines.
func flagName(n ast.Node, consts map[string]string) (string, bool) {
	call, ok := n.(*ast.CallExpr)
	if !ok {
		return "", false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return "", false
	}
	if recv, ok := sel.X.(*ast.Ident); !ok || recv.Name != "fs" {
		return "", false
	}
	arg := 0
	switch m := sel.Sel.Name; {
	case strings.HasSuffix(m, "Var"):
		arg = 1
	case m == "String" || m == "Int" || m == "Bool" || m == "Duration" || m == "Func" || m == "BoolFunc":
	default:
		return "", false
	}
	if len(call.Args) <= arg {
		return "", false
	}
	switch a := call.Args[arg].(type) {
	case *ast.BasicLit:
		s, err := strconv.Unquote(a.Value)
		return s, err == nil
	case *ast.Ident:
		s, ok := consts[a.Name]
		return s, ok
	}
	return "", false
}

// stringDecls returns the package's string constants and its variables that are string slices
// (appSettings = []string{"KEY", ...}), by name.
func stringDecls(files []*ast.File) (map[string]string, map[string][]string) {
	consts, lists := map[string]string{}, map[string][]string{}
	for _, file := range files {
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || (gd.Tok != token.CONST && gd.Tok != token.VAR) {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, v := range vs.Values {
					if i >= len(vs.Names) {
						break
					}
					name := vs.Names[i].Name
					if s, ok := stringLit(v); ok {
						consts[name] = s
					} else if cl, ok := v.(*ast.CompositeLit); ok {
						for _, elt := range cl.Elts {
							if s, ok := stringLit(elt); ok {
								lists[name] = append(lists[name], s)
							}
						}
					}
				}
			}
		}
	}
	return consts, lists
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

func TestSettingsAreRead(t *testing.T) {
	s := readSettings(t)
	for _, v := range []string{"DINGQ_APP_SALES_KEY", "DINGQ_APP_SALES_KDOCS_TOKEN", "DINGQ_ROBOT_OPS_WEBHOOK", "DINGQ_LOG_FORMAT"} {
		if !s.has(v) {
			t.Errorf("%s: not a setting", v)
		}
	}
	for _, v := range []string{"DINGQ_NATS_URLS", "DINGQ_APP_SALES_TOKEN", "DINGQ_ROBOT_OPS_URL", "NATS_URL"} {
		if s.has(v) {
			t.Errorf("%s: taken for a setting", v)
		}
	}
	t.Logf("%d settings", len(s.vars))
}
