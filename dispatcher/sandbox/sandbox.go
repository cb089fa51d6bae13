package sandbox

import (
	"net/http"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/dingq/dingq/schema"
)

// Sandbox is the stand-in for DingTalk: an [http.Handler] that serves the token, send and
// control endpoints. Make one with [New]; serve it with [Start] or any HTTP server. All its
// methods are safe for concurrent use.
type Sandbox struct {
	cfg    Config
	log    zerolog.Logger
	mux    *http.ServeMux
	apis   map[schema.Kind]sendAPI
	tokens *tokenStore
	faults *faultList
	dice   *dice
	qps    *qpsLimit
	rec    *recorder
	bufs   bufferPool
	ids    atomic.Uint64 // request ids
}

// New returns a sandbox configured by cfg, or an error when a field is out of range (a rate
// outside 0..1 or rates summing above 1, a negative duration or MaxRecorded, an empty token or
// secret in RobotSecrets).
func New(cfg Config) (*Sandbox, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Sandbox{
		cfg:    cfg,
		log:    cfg.Logger,
		mux:    http.NewServeMux(),
		tokens: newTokenStore(cfg.TokenTTL),
		faults: &faultList{},
		dice:   newDice(cfg.BusyRate, cfg.ThrottleRate, cfg.Seed),
		qps:    newQPSLimit(cfg.APIRate),
		rec:    newRecorder(cfg.MaxRecorded),
	}
	s.apis = map[schema.Kind]sendAPI{
		schema.KindCard:        cardAPI{s},
		schema.KindCrossDomain: crossDomainAPI{s},
		schema.KindRobot:       robotAPI{s},
	}
	s.routes()
	return s, nil
}

func (s *Sandbox) routes() {
	s.mux.HandleFunc("POST /v1.0/oauth2/accessToken", s.handleAccessToken)
	s.mux.HandleFunc("GET /gettoken", s.handleGetToken)
	s.mux.Handle("POST /v1.0/im/interactiveCards/templates/send", s.serveSend(s.apis[schema.KindCard]))
	s.mux.Handle("POST /topapi/dingtalk/impaas/message/crossdomain/send", s.serveSend(s.apis[schema.KindCrossDomain]))
	s.mux.Handle("POST /api/v1/openapi/notification/dingtalk", s.serveSend(s.apis[schema.KindRobot]))
	s.routesWebhook()
	s.routesDeliver()

	s.mux.HandleFunc("GET /_sandbox/faults", s.handleListFaults)
	s.mux.HandleFunc("POST /_sandbox/faults", s.handleAddFault)
	s.mux.HandleFunc("DELETE /_sandbox/faults", s.handleClearFaults)
	s.mux.HandleFunc("POST /_sandbox/tokens/expire", s.handleExpireTokens)
	s.mux.HandleFunc("GET /_sandbox/stats", s.handleStats)
	s.mux.HandleFunc("GET /_sandbox/deliveries", s.handleDeliveries)
}

// ServeHTTP serves DingTalk's token and send endpoints (see the package documentation) and the
// sandbox's own control endpoints, which speak JSON:
//
//	GET    /_sandbox/faults               the active faults
//	POST   /_sandbox/faults               add a fault: {"kind","contains","times","preset","status","code","delay":"2s"}
//	DELETE /_sandbox/faults               clear the faults
//	POST   /_sandbox/tokens/expire        expire every issued app token
//	GET    /_sandbox/stats                [Stats]
//	GET    /_sandbox/deliveries?kind=card the latest deliveries: kind, key, time (no bodies)
//
// Anything else is answered 404 (or 405 for a known path with the wrong method).
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }
