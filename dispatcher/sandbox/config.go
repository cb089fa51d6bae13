package sandbox

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/rs/zerolog"
)

// Defaults of [Config].
const (
	DefaultTokenTTL    = 7200 * time.Second
	DefaultMaxRecorded = 10000
)

// Config sets up a [Sandbox]. The zero value is a working sandbox that accepts any non-empty
// credentials and never fails on its own.
type Config struct {
	// AppKey and AppSecret are the DingTalk app credentials the token endpoints accept. Each,
	// when empty (the default), accepts any non-empty value; when set, the request must match it.
	AppKey    string
	AppSecret string
	// KdocsToken is the kdocs relay token robot sends must carry. Default empty: any non-empty
	// token is accepted.
	KdocsToken string
	// TokenTTL is how long an issued app token lives. A fetch within its life returns the same
	// token and extends it, as DingTalk does. Default 7200 s.
	TokenTTL time.Duration

	// BusyRate and ThrottleRate are the fractions (0..1, together at most 1) of send requests
	// answered with the kind's busy or throttling failure. Default 0.
	BusyRate     float64
	ThrottleRate float64
	// Seed seeds the generator behind BusyRate and ThrottleRate: the same seed gives the same
	// outcomes for the same sequence of requests (concurrent requests draw in whatever order
	// they reach the generator). Default 0, itself a fixed seed.
	Seed uint64
	// Latency is how long every send request waits before it is answered; a request whose client
	// gives up meanwhile is dropped unanswered. Default 0.
	Latency time.Duration

	// APIRate is how many send requests each app API (card template send, card
	// createAndDeliver, cross-domain send) accepts in any window of 1 s before it answers with its
	// throttling failure, as DingTalk's per-app QPS limit does. Default 0: no limit.
	APIRate int
	// RobotLimit is how many messages one robot webhook (POST /robot/send, one access_token)
	// accepts in any window of RobotWindow before it answers errcode 410100 and blocks that robot
	// for RobotBlock, answering 410100 to everything meanwhile. Default 0: no limit.
	RobotLimit int
	// RobotWindow is RobotLimit's window. Default 1 minute.
	RobotWindow time.Duration
	// RobotBlock is how long a robot that went over RobotLimit stays blocked. Default 10 minutes.
	RobotBlock time.Duration
	// RobotSecrets maps a robot webhook's access_token to its signing secret ("SEC..."), as
	// DingTalk knows the robots that sign: a message to such a robot on the direct webhook must
	// carry a timestamp (ms) within an hour of the sandbox's clock and its sign,
	// base64(HMAC-SHA256(key=secret, "timestamp\nsecret")) URL-encoded once, or it is answered
	// errcode 310000 with DingTalk's errmsg; a relay job whose link names such a robot must carry
	// the secret as sk. Tokens and secrets may not be empty. Default nil: no robot signs.
	RobotSecrets map[string]string

	// RecordBodies keeps each delivery's body in [Delivery.Body]. Default false: benchmarks push
	// millions of sends, and without bodies the sandbox keeps only a counter per distinct key
	// (under 40 bytes) beside the latest MaxRecorded deliveries.
	RecordBodies bool
	// MaxRecorded is how many of the latest deliveries [Sandbox.Deliveries] keeps. Counts
	// ([Sandbox.DeliveryCount], [Sandbox.Stats]) cover every delivery whatever this is.
	// Default 10,000.
	MaxRecorded int

	// Logger gets one debug event per send request (kind, job_id, status, code, outcome).
	// Default (the zero value): nothing is logged, as with zerolog.Nop().
	Logger zerolog.Logger
}

func (c Config) withDefaults() Config {
	if c.TokenTTL == 0 {
		c.TokenTTL = DefaultTokenTTL
	}
	if c.MaxRecorded == 0 {
		c.MaxRecorded = DefaultMaxRecorded
	}
	if c.RobotWindow == 0 {
		c.RobotWindow = time.Minute
	}
	if c.RobotBlock == 0 {
		c.RobotBlock = 10 * time.Minute
	}
	c.RobotSecrets = maps.Clone(c.RobotSecrets) // the caller's map may change later
	return c
}

func (c Config) validate() error {
	var errs []error
	for _, r := range []struct {
		name string
		v    float64
	}{{"BusyRate", c.BusyRate}, {"ThrottleRate", c.ThrottleRate}} {
		if !(r.v >= 0 && r.v <= 1) { // also refuses NaN
			errs = append(errs, fmt.Errorf("sandbox: %s %v is outside 0..1", r.name, r.v))
		}
	}
	if c.BusyRate+c.ThrottleRate > 1 {
		errs = append(errs, fmt.Errorf("sandbox: BusyRate + ThrottleRate = %v is above 1", c.BusyRate+c.ThrottleRate))
	}
	if c.TokenTTL < 0 {
		errs = append(errs, fmt.Errorf("sandbox: TokenTTL %v is negative", c.TokenTTL))
	}
	if c.Latency < 0 {
		errs = append(errs, fmt.Errorf("sandbox: Latency %v is negative", c.Latency))
	}
	if c.MaxRecorded < 0 {
		errs = append(errs, fmt.Errorf("sandbox: MaxRecorded %d is negative", c.MaxRecorded))
	}
	for tok, secret := range c.RobotSecrets {
		if tok == "" || secret == "" {
			// Neither is shown: both are secrets.
			errs = append(errs, errors.New("sandbox: RobotSecrets holds an empty access token or secret"))
			break
		}
	}
	return errors.Join(errs...)
}
