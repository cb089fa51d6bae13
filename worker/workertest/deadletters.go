package workertest

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
)

// The mix of dead letters [DeadLetter] makes, as a busy deployment has them: mostly cards,
// mostly rejections, a handful of codes each.
var (
	letterKinds   = []schema.Kind{schema.KindCard, schema.KindCard, schema.KindCard, schema.KindRobot, schema.KindRobot, schema.KindCrossDomain}
	letterReasons = []string{schema.ReasonRejected, schema.ReasonRejected, schema.ReasonRejected, schema.ReasonExhausted, schema.ReasonExhausted, schema.ReasonInvalid}
	letterCodes   = map[string][]string{
		schema.ReasonRejected:  {"chatbotNotInstall", "40035", "forbidden.accessDenied", "param.invalidUser"},
		schema.ReasonExhausted: {"503", "429", "timeout"},
		schema.ReasonInvalid:   {"invalid_field", "schema"},
	}
)

// DeadLetterJobID is the job id of the i-th dead letter [DeadLetter] makes.
func DeadLetterJobID(i int) string { return fmt.Sprintf("job-%08d-%x", i, uint32(i)*2654435761) }

// DeadLetter is the i-th of a realistic mix of dead letters, as a worker of app "ops" stores it:
// a card-sized job body and a trace header, the Dingq-* headers, and the worker's message id.
func DeadLetter(names schema.Names, i int, failedAt time.Time) *nats.Msg {
	kind := letterKinds[i%len(letterKinds)]
	reason := letterReasons[(i/7)%len(letterReasons)]
	codes := letterCodes[reason]
	job := DeadLetterJobID(i)
	m := nats.NewMsg(names.DeadSubject(kind))
	m.Data = fmt.Appendf(nil, `{"outTrackId":%q,"cardTemplateId":"f2f0a5c6-1b1e-4f2b-9a57-1e6b6c0a%04d.schema",`+
		`"openSpaceId":"dtv1.card//IM_GROUP.cid%08dxyzAbCdEfGhIjKlMnOp==","imGroupOpenSpaceModel":{"supportForward":true},`+
		`"cardData":{"cardParamMap":{"title":"Disk almost full on db-%03d","body":"Volume /var/lib/postgresql is at 9%d%% `+
		`and growing by 1.2 GB an hour; the on-call engineer has been paged.","severity":"warning","link":"https://grafana.example.com/d/abc/%d"}}}`,
		job, i%10000, i, i%500, i%10, i)
	m.Header.Set("Traceparent", fmt.Sprintf("00-%032x-%016x-01", i, i))
	m.Header.Set(schema.HeaderMsgID, "dead-"+names.JobStreamFor("ops")+"-ops-"+strconv.Itoa(i+1)+"-"+strconv.FormatInt(failedAt.UnixNano(), 10))
	m.Header.Set(schema.HeaderJobID, job)
	m.Header.Set(schema.HeaderReason, reason)
	m.Header.Set(schema.HeaderErrorCode, codes[i%len(codes)])
	m.Header.Set(schema.HeaderError, "DingTalk answered 400 "+codes[i%len(codes)]+": the robot is not installed in the group")
	m.Header.Set(schema.HeaderHTTPStatus, "400")
	m.Header.Set(schema.HeaderAttempts, strconv.Itoa(1+i%5))
	m.Header.Set(schema.HeaderOriginalSubject, names.SendSubjectFor(kind, "ops"))
	m.Header.Set(schema.HeaderFailedAt, failedAt.UTC().Format(time.RFC3339))
	return m
}

// FillDeadLetters stores n dead letters of [DeadLetter]'s mix in the dead-letter stream, which
// must exist, published asynchronously in batches of 10,000: 100,000 take about a second.
func FillDeadLetters(ctx context.Context, nc *nats.Conn, names schema.Names, n int) error {
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return err
	}
	const batch = 10_000
	for from := 0; from < n; from += batch {
		acks := make([]jetstream.PubAckFuture, 0, batch)
		for i := from; i < min(from+batch, n); i++ {
			f, err := js.PublishMsgAsync(DeadLetter(names, i, time.Now()))
			if err != nil {
				return err
			}
			acks = append(acks, f)
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-ctx.Done():
			return fmt.Errorf("dead letters %d..: %w", from, ctx.Err())
		}
		for _, f := range acks {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return fmt.Errorf("publish dead letter: %w", err)
			}
		}
	}
	return nil
}
