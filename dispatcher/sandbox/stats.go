package sandbox

import "github.com/dingq/dingq/schema"

// Outcome is how the sandbox answered a send request.
type Outcome string

// The outcomes of a send request.
const (
	OutcomeDelivered    Outcome = "delivered"     // accepted and recorded as a [Delivery]
	OutcomeFault        Outcome = "fault"         // answered by a targeted [Fault]
	OutcomeBusy         Outcome = "busy"          // answered busy by [Config.BusyRate]
	OutcomeThrottled    Outcome = "throttled"     // answered throttled by [Config.ThrottleRate]
	OutcomeTokenInvalid Outcome = "token_invalid" // no live token
	OutcomeRejected     Outcome = "rejected"      // the body failed the sandbox's checks
	OutcomeCanceled     Outcome = "canceled"      // the client gave up before the answer
)

// preset is the [Fault] preset that renders a random failure.
func (o Outcome) preset() string {
	if o == OutcomeThrottled {
		return PresetThrottle
	}
	return PresetBusy
}

// Stats counts what the sandbox has seen since it was made. Every map has an entry for each kind.
type Stats struct {
	// Requests counts send requests per kind as they arrive, failed ones included.
	Requests map[schema.Kind]int `json:"requests"`
	// Outcomes counts send requests per kind and outcome as they are answered; while requests
	// are in flight their sum is below Requests.
	Outcomes map[schema.Kind]map[Outcome]int `json:"outcomes"`
	// Deliveries counts accepted sends per kind.
	Deliveries map[schema.Kind]int `json:"deliveries"`
	// Duplicates counts deliveries whose key had been delivered before (the same job sent twice).
	Duplicates int `json:"duplicates"`
	// TokenFetches counts requests to both token endpoints, refused ones included.
	TokenFetches int `json:"token_fetches"`
}

// Stats returns the counts so far. Safe for concurrent use.
func (s *Sandbox) Stats() Stats { return s.rec.stats() }
