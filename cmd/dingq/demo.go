package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/dispatcher/sandbox"
	"github.com/dingq/dingq/schema"
)

// demoJob is one sample job of `dingq serve --sandbox --demo`.
type demoJob struct {
	kind schema.Kind
	body string
}

// demoJobs are valid jobs of each kind. The sandbox is told to answer the one whose id holds
// "busy" with systemBusy twice (it is retried, then sent) and to reject the one whose id holds
// "reject" (it is dead-lettered).
func demoJobs(run string) []demoJob {
	card := func(id, title string) string {
		return `{"cardTemplateId":"StandardCard","openConversationId":"cidDemoGroup==","robotCode":"dingdemorobot",` +
			`"outTrackId":"` + id + `","cardData":"{\"cardParamMap\":{\"title\":\"` + title + `\"}}"}`
	}
	return []demoJob{
		{schema.KindCard, card("demo-"+run+"-card", "Deploy finished")},
		{schema.KindCrossDomain, `{"sender":"1001@demo","message_id":"demo-` + run + `-cross",` +
			`"send_message_model":{"conversation_type":1,"uuid":"demo-` + run + `","content_type":1,` +
			`"content":"{\"content\":\"hello across domains\"}","cid":"1011@demo:@demo$1@G"},` +
			`"message_receiver_scope_model":{"actual_receivers":["demo-user"]}}`},
		{schema.KindRobot, `{"link":"https://oapi.dingtalk.com/robot/send?access_token=demo-robot-token","sk":"SECdemo",` +
			`"data":[{"msgtype":"markdown","markdown":{"title":"Build ` + run + `","text":"### Build green"}}]}`},
		{schema.KindCard, card("demo-"+run+"-busy", "Retried after systemBusy")},
		{schema.KindCard, card("demo-"+run+"-reject", "Rejected: robot not in the group")},
	}
}

// runDemo provisions the streams, arms the sandbox's faults and publishes the demo jobs.
func runDemo(ctx context.Context, js jetstream.JetStream, cfg config.Config, sb *sandbox.Sandbox, log zerolog.Logger) {
	for _, f := range []sandbox.Fault{
		{Contains: "-busy", Preset: "busy", Times: 2},
		{Contains: "-reject", Preset: "reject"},
	} {
		if err := sb.AddFault(f); err != nil {
			log.Error().Err(err).Msg("demo: arm sandbox fault")
			return
		}
	}
	names := schema.NewNames(cfg.SubjectPrefix)
	run := strconv.FormatInt(time.Now().Unix(), 36)
	// The worker provisions the streams as it starts; wait for the job stream.
	for {
		if _, err := js.Stream(ctx, names.JobStream()); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	for _, j := range demoJobs(run) {
		if _, err := js.Publish(ctx, names.SendSubject(j.kind), []byte(j.body)); err != nil {
			log.Error().Err(err).Str("kind", string(j.kind)).Msg("demo: publish failed")
			return
		}
	}
	log.Info().Str("run", run).Msg(fmt.Sprintf("demo: published %d jobs: watch them sent, one retried after systemBusy, one dead-lettered", len(demoJobs(run))))
}
