package config

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// App is one DingTalk app's credentials: a profile that a job picks with its Dingq-App header.
// Printing it, or encoding it as JSON, hides every field but whether it is set.
type App struct {
	AppKey     string // the app's key, with AppSecret: dingq fetches and caches its access tokens
	AppSecret  string // the app's secret
	KdocsToken string // the kdocs relay token used for this app's robot jobs
}

// Robot is one named group robot. Printing it, or encoding it as JSON, shows neither its
// webhook's query (the access token) nor its secret.
type Robot struct {
	Webhook string // https://oapi.dingtalk.com/robot/send?access_token=...; required
	Secret  string // the signing secret (SEC...), when the robot signs its messages; optional
}

// The environment-only settings: DINGQ_APP_<NAME>_<SETTING> and DINGQ_ROBOT_<NAME>_<SETTING>.
const (
	appPrefix   = "DINGQ_APP_"
	robotPrefix = "DINGQ_ROBOT_"
	// defaultApp names the default profile in a job's header; no named profile may take it.
	defaultApp = "default"
)

// ReadProfiles sets Apps and Robots from the apps: and robots: sections of the file [Parse] read,
// if any, and from environ, the environment as os.Environ gives it ("NAME=value" entries):
// DINGQ_APP_<NAME>_KEY, DINGQ_APP_<NAME>_SECRET and DINGQ_APP_<NAME>_KDOCS_TOKEN;
// DINGQ_ROBOT_<NAME>_WEBHOOK and DINGQ_ROBOT_<NAME>_SECRET. A variable wins over the file's value
// of the same setting, field by field. NAME is letters, digits and underscores, matched without
// regard to case and stored in lower case. An empty variable counts as unset, and the variables of
// the flags in fs (DINGQ_ROBOT_VIA) are not profiles. Any other variable under those prefixes is
// an error that names it, so that a misspelt setting never leaves a job silently on the default
// profile. The errors never show a value; [Config.Validate] checks the values.
func (c *Config) ReadProfiles(fs *flag.FlagSet, environ []string) error {
	flagVars := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { flagVars[EnvName(f.Name)] = true })
	apps, robots := cloneOrNew(c.file.apps), cloneOrNew(c.file.robots)
	seen := map[string]string{} // a setting's upper-case variable → the variable that set it
	var errs []error
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		var prefix string
		var settings []string
		switch {
		case flagVars[k]:
			continue
		case strings.HasPrefix(k, appPrefix):
			prefix, settings = appPrefix, appSettings
		case strings.HasPrefix(k, robotPrefix):
			prefix, settings = robotPrefix, robotSettings
		default:
			continue
		}
		name, setting, err := splitProfileVar(k, prefix, settings)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if v == "" {
			continue
		}
		canonical := profileVar(prefix, name, setting)
		if first, ok := seen[canonical]; ok {
			if first != k { // the same variable twice: the first wins, as with os.Getenv
				errs = append(errs, fmt.Errorf("%s: the same setting as %s (names are matched without regard to case)", k, first))
			}
			continue
		}
		seen[canonical] = k
		if prefix == appPrefix {
			apps[name] = apps[name].with(setting, v)
		} else {
			robots[name] = robots[name].with(setting, v)
		}
	}
	c.Apps, c.Robots = nilIfEmpty(apps), nilIfEmpty(robots)
	return errors.Join(errs...)
}

// splitProfileVar splits prefix<NAME>_<SETTING> into NAME in lower case and SETTING, one of
// settings, or reports a variable that is not such a setting.
func splitProfileVar(k, prefix string, settings []string) (name, setting string, err error) {
	rest := strings.TrimPrefix(k, prefix)
	for _, s := range settings {
		if n, ok := strings.CutSuffix(rest, "_"+s); ok {
			if !validName(n, "_") {
				return "", "", fmt.Errorf("%s: want %s<NAME>_%s, NAME letters, digits and underscores", k, prefix, s)
			}
			return strings.ToLower(n), s, nil
		}
	}
	last := len(settings) - 1
	return "", "", fmt.Errorf("%s: not a setting: want %s<NAME>_%s or _%s", k, prefix, strings.Join(settings[:last], ", _"), settings[last])
}

// profileVar is the variable of a profile's setting, in upper case.
func profileVar(prefix, name, setting string) string {
	return prefix + strings.ToUpper(name) + "_" + setting
}

func (a App) with(setting, v string) App {
	switch setting {
	case "KEY":
		a.AppKey = v
	case "SECRET":
		a.AppSecret = v
	case "KDOCS_TOKEN":
		a.KdocsToken = v
	}
	return a
}

func (r Robot) with(setting, v string) Robot {
	switch setting {
	case "WEBHOOK":
		r.Webhook = v
	case "SECRET":
		r.Secret = v
	}
	return r
}

func cloneOrNew[V any](m map[string]V) map[string]V {
	if m == nil {
		return map[string]V{}
	}
	return maps.Clone(m)
}

func nilIfEmpty[V any](m map[string]V) map[string]V {
	if len(m) == 0 {
		return nil
	}
	return m
}

// App returns the app profile a job's Dingq-App header names: the named profile, matched without
// regard to case, or for "" (or "default") the default profile of DINGQ_DINGTALK_APP_KEY,
// DINGQ_DINGTALK_APP_SECRET and DINGQ_KDOCS_ACCESS_TOKEN. ok is false for an unknown name. A named
// profile's unset fields stay empty: they are never the default profile's.
func (c Config) App(name string) (App, bool) {
	name = strings.ToLower(name)
	if name == "" || name == defaultApp {
		return App{AppKey: c.AppKey, AppSecret: c.AppSecret, KdocsToken: c.KdocsToken}, true
	}
	a, ok := c.Apps[name]
	return a, ok
}

// Robot returns the named robot, matched without regard to case; ok is false for an unknown name.
func (c Config) Robot(name string) (Robot, bool) {
	r, ok := c.Robots[strings.ToLower(name)]
	return r, ok
}

// profileErrors reports each mistake in the app profiles and robots, naming its variable (and
// where the file declares the profile) and never a value.
func (c Config) profileErrors() []error {
	var errs []error
	bad := func(variable, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", variable, fmt.Sprintf(format, args...)))
	}
	for _, name := range slices.Sorted(maps.Keys(c.Apps)) {
		a, v := c.Apps[name], func(setting string) string { return profileVar(appPrefix, name, setting) }
		at := c.declared("apps", name)
		switch {
		case name == defaultApp:
			bad(v("*")+at, "the name %q is reserved for the default profile: DINGQ_DINGTALK_APP_KEY, DINGQ_DINGTALK_APP_SECRET and DINGQ_KDOCS_ACCESS_TOKEN", name)
		case !validName(name, "_") || name != strings.ToLower(name):
			bad(v("*")+at, "the profile name %q: want lower-case letters, digits and underscores", name)
		}
		switch {
		case a == App{}: // only a file can declare a profile without setting it
			bad(v("KEY")+at, "the profile has no credentials: set %s and %s, or %s", v("KEY"), v("SECRET"), v("KDOCS_TOKEN"))
		case (a.AppKey == "") != (a.AppSecret == ""):
			bad(v("SECRET")+at, "set both %s and %s, or neither", v("KEY"), v("SECRET"))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Robots)) {
		r, v := c.Robots[name], func(setting string) string { return profileVar(robotPrefix, name, setting) }
		at := c.declared("robots", name)
		if !validName(name, "-_") || name != strings.ToLower(name) {
			bad(v("*")+at, "the robot name %q: want lower-case letters, digits, '-' and '_'", name)
		}
		switch {
		case r.Webhook == "" && r.Secret != "":
			bad(v("WEBHOOK")+at, "not set, but %s is: a robot needs its webhook URL", v("SECRET"))
		case r.Webhook == "":
			bad(v("WEBHOOK")+at, "empty: a robot needs its webhook URL")
		case !validWebhook(r.Webhook):
			bad(v("WEBHOOK")+at, "not an http(s) URL with an access_token, like https://oapi.dingtalk.com/robot/send?access_token=... (the value is not shown)")
		}
	}
	return errs
}

// declared says where the file declares the profile name of section, or nothing.
func (c Config) declared(section, name string) string {
	if line, ok := c.file.lines[section+"."+name]; ok {
		return fmt.Sprintf(" (%s.%s at %s:%d)", section, name, c.File, line)
	}
	return ""
}

// validName reports whether name is non-empty ASCII letters, digits and the bytes of extra.
func validName(name, extra string) bool {
	for _, r := range name {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune(extra, r)) {
			return false
		}
	}
	return name != ""
}

// validWebhook reports whether s is an absolute http(s) URL with a non-empty access_token.
func validWebhook(s string) bool {
	p, err := url.Parse(s)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != "" &&
		p.Query().Get("access_token") != ""
}
