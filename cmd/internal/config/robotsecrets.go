package config

import (
	"fmt"
	"strconv"
	"strings"
)

// RobotSecretsFlag is the sandbox's flag of the robots that sign; its variable is
// DINGQ_SANDBOX_ROBOT_SECRETS.
const RobotSecretsFlag = "sandbox-robot-secrets"

// RobotSecrets is the value of --sandbox-robot-secrets: the robots that sign, by their webhook's
// access_token, each given as access_token=SECRET, one or more to a value separated by ','; the
// flag may be repeated. Its Set never fails, so that no parser ever prints a value, which holds
// secrets: [RobotSecrets.Check] reports a malformed entry by its place alone.
type RobotSecrets struct {
	secrets  map[string]string
	entries  int   // the entries read so far
	bad      []int // the places (from 1) of malformed entries
	conflict bool  // a token given twice with different secrets
}

// String shows how many robots sign, never a token or a secret.
func (f *RobotSecrets) String() string {
	if f == nil || len(f.secrets) == 0 {
		return ""
	}
	return strconv.Itoa(len(f.secrets)) + " signing robots"
}

// Set reads a value's entries; empty entries (a trailing ',') are skipped.
func (f *RobotSecrets) Set(v string) error {
	for entry := range strings.SplitSeq(v, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		f.entries++
		tok, secret, ok := strings.Cut(entry, "=")
		tok, secret = strings.TrimSpace(tok), strings.TrimSpace(secret)
		if !ok || tok == "" || secret == "" {
			f.bad = append(f.bad, f.entries)
			continue
		}
		if f.secrets == nil {
			f.secrets = map[string]string{}
		}
		if prev, seen := f.secrets[tok]; seen && prev != secret {
			f.conflict = true
		}
		f.secrets[tok] = secret
	}
	return nil
}

// Check reports the malformed entries and conflicts Set met, naming the flag, its variable and
// the entries' places, never their text.
func (f *RobotSecrets) Check() error {
	where := "--" + RobotSecretsFlag + " (" + EnvName(RobotSecretsFlag) + ")"
	switch {
	case len(f.bad) > 0:
		places := make([]string, len(f.bad))
		for i, n := range f.bad {
			places[i] = strconv.Itoa(n)
		}
		return fmt.Errorf("%s: entry %s is not access_token=SECRET, both non-empty (entries are separated by ',')",
			where, strings.Join(places, ", "))
	case f.conflict:
		return fmt.Errorf("%s: one access_token is given two different secrets", where)
	}
	return nil
}

// Map returns the secrets by access_token; nil when no robot signs.
func (f *RobotSecrets) Map() map[string]string { return f.secrets }
