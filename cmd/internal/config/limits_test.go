package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/dispatcher/ratelimit"
)

func TestLimitsFromEnvironmentAndFlags(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want func(config.Config) bool
	}{
		{"api rate", nil, map[string]string{"DINGQ_RATE_API": "10/2s"},
			func(c config.Config) bool { return c.RateAPI == ratelimit.Rate{N: 10, Per: 2 * time.Second} }},
		{"robot rate with a bare unit", nil, map[string]string{"DINGQ_RATE_ROBOT": "5/m"},
			func(c config.Config) bool { return c.RateRobot == ratelimit.Rate{N: 5, Per: time.Minute} }},
		{"api rate off", nil, map[string]string{"DINGQ_RATE_API": "off"},
			func(c config.Config) bool { return c.RateAPI.Off() && !c.RateRobot.Off() }},
		{"robot rate off", nil, map[string]string{"DINGQ_RATE_ROBOT": "OFF"},
			func(c config.Config) bool { return c.RateRobot.Off() && !c.RateAPI.Off() }},
		{"flag wins over the environment", []string{"--rate-api", "off", "--rate-robot=3/1m"}, map[string]string{"DINGQ_RATE_API": "10/1s"},
			func(c config.Config) bool {
				return c.RateAPI.Off() && c.RateRobot == ratelimit.Rate{N: 3, Per: time.Minute}
			}},
		{"penalty", nil, map[string]string{"DINGQ_ROBOT_PENALTY": "15m"},
			func(c config.Config) bool { return c.RobotPenalty == 15*time.Minute }},
		{"via relay", nil, map[string]string{"DINGQ_ROBOT_VIA": "relay"},
			func(c config.Config) bool { return c.RobotVia == config.RobotViaRelay }},
		{"via direct", []string{"--robot-via", "direct"}, nil,
			func(c config.Config) bool { return c.RobotVia == config.RobotViaDirect }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := parse(t, c.args, c.env)
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			if !c.want(cfg) {
				t.Errorf("RateAPI %v, RateRobot %v, RobotPenalty %v, RobotVia %q", cfg.RateAPI, cfg.RateRobot, cfg.RobotPenalty, cfg.RobotVia)
			}
		})
	}
}

func TestBadLimitNamesTheVariable(t *testing.T) {
	cases := []struct {
		variable, value string
	}{
		{"DINGQ_RATE_API", "fast"},
		{"DINGQ_RATE_API", "20"},
		{"DINGQ_RATE_API", "0/1s"},
		{"DINGQ_RATE_ROBOT", "20/0s"},
		{"DINGQ_RATE_ROBOT", "twenty/1m"},
		{"DINGQ_ROBOT_PENALTY", "ten minutes"},
		{"DINGQ_ROBOT_PENALTY", "0s"},
		{"DINGQ_ROBOT_PENALTY", "-1m"},
		{"DINGQ_ROBOT_VIA", "webhook"},
		{"DINGQ_ROBOT_VIA", "Relay"},
		{"DINGQ_STATUS", "maybe"},
		{"DINGQ_REPLICAS", "0"},
		{"DINGQ_REPLICAS", "7"},
	}
	for _, c := range cases {
		t.Run(c.variable+"="+c.value, func(t *testing.T) {
			err := check(t, nil, map[string]string{c.variable: c.value})
			if err == nil || !strings.Contains(err.Error(), c.variable) {
				t.Errorf("error = %v, want one naming %s", err, c.variable)
			}
		})
	}
}

func TestBadLimitFlagNamesTheFlag(t *testing.T) {
	_, err := parse(t, []string{"--rate-robot", "many"}, nil)
	if err == nil || !strings.Contains(err.Error(), "rate-robot") {
		t.Errorf("error = %v, want one naming -rate-robot", err)
	}
}

func TestValidateRejectsAMalformedRate(t *testing.T) {
	cfg := config.Default()
	cfg.RateAPI = ratelimit.Rate{N: 5} // no period: set in code, not parsed
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "DINGQ_RATE_API") {
		t.Errorf("Validate() = %v, want an error naming DINGQ_RATE_API", err)
	}
}

func TestRobotPath(t *testing.T) {
	cases := []struct {
		via, kdocsToken, want string
	}{
		{"auto", "", "direct"},
		{"auto", "kdocs-token", "relay"},
		{"relay", "", "relay"},
		{"direct", "kdocs-token", "direct"},
	}
	for _, c := range cases {
		cfg := config.Default()
		cfg.RobotVia, cfg.KdocsToken = c.via, c.kdocsToken
		if got := cfg.RobotPath(); got != c.want {
			t.Errorf("via %q, kdocs token %q: RobotPath() = %q, want %q", c.via, c.kdocsToken, got, c.want)
		}
	}
}
