package config

import (
	"flag"
	"fmt"
	"time"

	"github.com/dingq/dingq/dispatcher/ratelimit"
)

// The values of --robot-via: how robot jobs reach DingTalk.
const (
	RobotViaAuto   = "auto"   // the relay when a kdocs token is set, else direct
	RobotViaRelay  = "relay"  // through the kdocs relay, with KdocsToken
	RobotViaDirect = "direct" // straight to the robot's webhook
)

func (c *Config) registerLimits(fs *flag.FlagSet) {
	fs.Var(rateFlag{&c.RateAPI}, "rate-api", "sends allowed per DingTalk app and API, for the whole fleet: `N/duration` (20/1s), or off")
	fs.Var(rateFlag{&c.RateRobot}, "rate-robot", "sends allowed per group robot (one webhook), for the whole fleet: `N/duration` (20/1m), or off")
	fs.DurationVar(&c.RobotPenalty, "robot-penalty", c.RobotPenalty, "how long the fleet holds a robot that DingTalk answered with its rate-limit code 410100")
	fs.StringVar(&c.RobotVia, "robot-via", c.RobotVia, "how robot jobs are sent: relay (the kdocs relay), direct (the robot's webhook), "+
		"or auto: relay when --kdocs-access-token is set, else direct; "+
		"named robots are set in the --config file's robots: section or as DINGQ_ROBOT_<NAME>_WEBHOOK and DINGQ_ROBOT_<NAME>_SECRET")
}

// RobotPath is how robot jobs are sent, RobotViaRelay or RobotViaDirect: RobotVia, with auto
// decided by whether the default profile has a kdocs token.
func (c Config) RobotPath() string {
	if c.RobotVia != RobotViaAuto {
		return c.RobotVia
	}
	if c.KdocsToken != "" {
		return RobotViaRelay
	}
	return RobotViaDirect
}

// limitErrors reports each mistake in the limits, naming its variable.
func (c Config) limitErrors() []error {
	var errs []error
	bad := func(flagName, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", c.named(flagName), fmt.Sprintf(format, args...)))
	}
	for _, r := range []struct {
		flag string
		ratelimit.Rate
	}{{"rate-api", c.RateAPI}, {"rate-robot", c.RateRobot}} {
		if r.N < 0 || (r.N > 0 && r.Per < time.Millisecond) {
			bad(r.flag, "%d per %v: want N/duration with N at least 1 and a duration of at least 1ms, or off", r.N, r.Per)
		}
	}
	if c.RobotPenalty <= 0 {
		bad("robot-penalty", "%v: must be positive", c.RobotPenalty)
	}
	switch c.RobotVia {
	case RobotViaAuto, RobotViaRelay, RobotViaDirect:
	default:
		bad("robot-via", "%q: want auto, relay or direct", c.RobotVia)
	}
	return errs
}

// rateFlag is the flag.Value of a ratelimit.Rate, read with [ratelimit.ParseRate].
type rateFlag struct{ r *ratelimit.Rate }

func (f rateFlag) String() string {
	if f.r == nil { // the zero value flag.PrintDefaults makes
		return ""
	}
	return f.r.String()
}

func (f rateFlag) Set(s string) error {
	r, err := ratelimit.ParseRate(s)
	if err != nil {
		return err
	}
	*f.r = r
	return nil
}
