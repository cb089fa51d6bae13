package dispatcher

import (
	"context"

	"github.com/dingq/dingq/schema"
)

// CardDeliverPath is the card API that succeeds the template send, under the new-style API
// base: it creates a card and delivers it to the spaces its body's openSpaceId names.
const CardDeliverPath = "/v1.0/card/instances/createAndDeliver"

// CardDeliverSender sends card jobs in the deliver mode ([schema.CardDeliver]):
// POST {BaseURL}/v1.0/card/instances/createAndDeliver with the job body as it is and the token in
// the x-acs-dingtalk-access-token header. It takes a [CardConfig], as [CardSender] does, and is
// safe for concurrent use.
//
// Its Send returns nil when DingTalk answered success and every space got the card; a [*Error]
// when it refused, classified by the template send's table (after one fresh token when it
// refused the token), or, on a 2xx answer, with [CodeDeliverFailed] (reject) when some space did
// not get the card and [CodeNoSuccess] (retry) when the answer does not say success; and a
// wrapped network or context error, which means retry, when the outcome is unknown.
type CardDeliverSender struct{ apiSender }

var _ Sender = (*CardDeliverSender)(nil)

// NewCardDeliverSender returns a deliver-mode card sender, or an error if BaseURL is not an
// absolute http(s) URL or Tokens is nil. Client defaults as for [NewCardSender].
func NewCardDeliverSender(cfg CardConfig) (*CardDeliverSender, error) {
	s, err := apiSender{name: "card deliver sender", verb: "deliver card", path: CardDeliverPath,
		header: cardTokenHeader, classify: classifyDeliver}.build(cfg.BaseURL, cfg.Client, cfg.Tokens)
	if err != nil {
		return nil, err
	}
	return &CardDeliverSender{s}, nil
}

// NewCardModeSender returns the sender of card jobs in both modes: it hands a job to deliver
// when schema.CardModeOf(job.Body) is [schema.CardDeliver], and to template otherwise. Give it as
// the card kind's sender to a [Mux]. A mode whose sender is nil answers its jobs with a [*Error]
// with [Reject] and [CodeUnknownKind], as a Mux does for a kind it lacks. The sender it returns is
// safe for concurrent use when template and deliver are.
func NewCardModeSender(template, deliver Sender) Sender {
	return SenderFunc(func(ctx context.Context, job Job) error {
		mode, s := schema.CardTemplate, template
		if schema.CardModeOf(job.Body) == schema.CardDeliver {
			mode, s = schema.CardDeliver, deliver
		}
		if s == nil {
			return rejectJob(CodeUnknownKind, "no sender for card mode "+string(mode))
		}
		return s.Send(ctx, job)
	})
}
