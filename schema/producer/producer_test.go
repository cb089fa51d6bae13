package producer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/schema/producer"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/workertest"
)

// Every server and connection a test starts must be gone when it ends.
func TestMain(m *testing.M) { workertest.VerifyNoLeaks(m) }

// startJetStream starts an embedded NATS server and connects to it; the streams are not created.
func startJetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	_, _, js := workertest.StartNATS(t)
	return js
}

// startStreams starts NATS and creates the streams as the workers do, for names and apps; it
// returns the JetStream client and the default app's job stream.
func startStreams(t *testing.T, names schema.Names, apps ...string) (jetstream.JetStream, jetstream.Stream) {
	t.Helper()
	js := startJetStream(t)
	if _, err := worker.Provision(testContext(t), js, worker.Config{Names: names, Apps: apps}); err != nil {
		t.Fatal(err)
	}
	jobs, err := js.Stream(testContext(t), names.JobStream())
	if err != nil {
		t.Fatal(err)
	}
	return js, jobs
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newProducer(t *testing.T, js jetstream.JetStream, opts ...producer.Option) *producer.Producer {
	t.Helper()
	p, err := producer.New(js, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// stored returns the message that res says the stream holds.
func stored(t *testing.T, stream jetstream.Stream, res producer.Result) *jetstream.RawStreamMsg {
	t.Helper()
	msg, err := stream.GetMsg(testContext(t), res.Sequence)
	if err != nil {
		t.Fatalf("get message %d: %v", res.Sequence, err)
	}
	return msg
}

// messages is how many jobs the stream holds; no worker runs, so every publish stays there.
func messages(t *testing.T, stream jetstream.Stream) uint64 {
	t.Helper()
	info, err := stream.Info(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// Sample jobs, one per form of each kind.

func templateCard(outTrackID string) schema.Card {
	return schema.Card{
		CardTemplateID:     "StandardCard",
		OpenConversationID: "cidAbCdEf123==",
		RobotCode:          "dingrobot123",
		OutTrackID:         outTrackID,
		CardData:           producer.CardData(map[string]string{"title": "Shipped"}),
	}
}

func singleCard() schema.Card {
	return schema.Card{
		CardTemplateID:     "TuWenCard01",
		SingleChatReceiver: producer.UserReceiver("user001"),
		RobotCode:          "dingrobot123",
		OutTrackID:         "welcome-user001",
		CardData:           producer.CardData(map[string]string{"title": "Welcome"}),
	}
}

func deliveredCard() schema.CardDelivery {
	return schema.CardDelivery{
		CardTemplateID:          "589420e2-c1e2-46ef-a5ed-b8728e654da9.schema",
		OutTrackID:              "order-20241122-0002",
		OpenSpaceID:             "dtv1.card//IM_GROUP.cidAbCdEf123==",
		CardData:                schema.CardParams{CardParamMap: map[string]string{"title": "Order shipped"}},
		IMGroupOpenDeliverModel: &schema.CardGroupDeliverModel{RobotCode: "dingrobot123"},
	}
}

func crossDomain() schema.CrossDomain {
	return schema.CrossDomain{
		Sender:    "1001@domain",
		MessageID: "321443",
		Message: schema.CrossDomainMessage{ConversationType: 1, UUID: "fdsfdfd", ContentType: schema.CrossDomainContentText,
			Content: producer.CrossDomainText("hello"), CID: "1011@domain:@domain$1@G"},
	}
}

func linkRobot() schema.Robot {
	return schema.Robot{
		Link: "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef",
		SK:   "SEC0123",
		Data: []schema.RobotMessage{producer.RobotText("hello")},
	}
}

func TestPublishEachKindToItsSubjectWithItsID(t *testing.T) {
	js, stream := startStreams(t, schema.Names{})
	p := newProducer(t, js)
	robotJob := producer.Robot(linkRobot())
	namedJob := producer.NamedRobot("ops-alerts", producer.RobotMarkdown("Deploy", "### Deploy\n- **done**"))
	cases := []struct {
		name    string
		job     producer.Job
		subject string
		id      string
	}{
		{"card to a group", producer.Card(templateCard("order-8812-shipped")), "dingq.send.card", "order-8812-shipped"},
		{"card to a person", producer.Card(singleCard()), "dingq.send.card", "welcome-user001"},
		{"card createAndDeliver", producer.CardDeliver(deliveredCard()), "dingq.send.card", "order-20241122-0002"},
		{"crossdomain", producer.CrossDomain(crossDomain()), "dingq.send.crossdomain", "321443"},
		{"robot webhook", robotJob, "dingq.send.robot", schema.BodyHash(robotJob.Body)},
		{"robot named", namedJob, "dingq.send.robot", schema.BodyHash(namedJob.Body)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := p.Publish(t.Context(), c.job)
			if err != nil {
				t.Fatal(err)
			}
			want := producer.Result{Stream: "DINGQ_JOBS", Sequence: res.Sequence, JobID: c.id}
			if res != want || res.Sequence == 0 {
				t.Fatalf("result %+v, want %+v", res, want)
			}
			msg := stored(t, stream, res)
			if msg.Subject != c.subject {
				t.Errorf("subject %q, want %q", msg.Subject, c.subject)
			}
			if got := msg.Header.Get(schema.HeaderMsgID); got != c.id {
				t.Errorf("%s %q, want %q", schema.HeaderMsgID, got, c.id)
			}
			if got := msg.Header.Values(schema.HeaderApp); len(got) != 0 {
				t.Errorf("%s %q, want none", schema.HeaderApp, got)
			}
			if !bytes.Equal(msg.Data, c.job.Body) {
				t.Errorf("stored body %s, want %s", msg.Data, c.job.Body)
			}
			// The worker names the job as the producer did.
			if got := schema.JobID(c.job.Kind, msg.Header.Get(schema.HeaderMsgID), msg.Data); got != c.id {
				t.Errorf("the worker's job id %q, want %q", got, c.id)
			}
		})
	}
}

func TestPublishRefusesAnInvalidJobBeforeNATS(t *testing.T) {
	js, stream := startStreams(t, schema.Names{})
	p := newProducer(t, js)
	noTrack := templateCard("")
	badData := templateCard("order-1")
	badData.CardData = "title=Shipped"
	badReceiver := singleCard()
	badReceiver.SingleChatReceiver = `{"name":"user001"}`
	badContent := crossDomain()
	badContent.Message.Content = "hello"
	both := linkRobot()
	both.RobotName = "ops"
	cases := []struct {
		name                string
		job                 producer.Job
		code, field, rule   string
		producerWithOptions []producer.Option
	}{
		{name: "card without outTrackId", job: producer.Card(noTrack), code: schema.CodeInvalidField, field: "outTrackId", rule: "minLength"},
		{name: "cardData not JSON", job: producer.Card(badData), code: schema.CodeInvalidField, field: "cardData", rule: "contentMediaType"},
		{name: "receiver without an id", job: producer.Card(badReceiver), code: schema.CodeInvalidField, field: "singleChatReceiver", rule: "contentSchema"},
		{name: "crossdomain content not JSON", job: producer.CrossDomain(badContent), code: schema.CodeInvalidField, field: "send_message_model.content", rule: "contentMediaType"},
		{name: "named robot without messages", job: producer.NamedRobot("ops"), code: schema.CodeInvalidField, field: "data", rule: "minItems"},
		{name: "robot both named and linked", job: producer.Robot(both), code: schema.CodeInvalidField, field: "link", rule: "false"},
		{name: "raw card without outTrackId", job: producer.Job{Kind: schema.KindCard, Body: []byte(`{"cardTemplateId":"StandardCard","robotCode":"r","openConversationId":"c","cardData":"{}"}`)},
			code: schema.CodeInvalidField, field: "outTrackId", rule: "required"},
		{name: "unknown kind", job: producer.Job{Kind: "sms", Body: []byte(`{}`)}, code: schema.CodeUnknownKind},
		{name: "not JSON", job: producer.Job{Kind: schema.KindCard, Body: []byte(`{"cardTemplateId":`)}, code: schema.CodeInvalidJSON},
		{name: "empty body", job: producer.Job{Kind: schema.KindRobot}, code: schema.CodeEmptyBody},
		{name: "over the body limit", job: producer.Card(templateCard("order-1")), code: schema.CodeTooLarge,
			producerWithOptions: []producer.Option{producer.WithMaxBodyBytes(64)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := p
			if c.producerWithOptions != nil {
				p = newProducer(t, js, c.producerWithOptions...)
			}
			res, err := p.Publish(t.Context(), c.job)
			var ve *schema.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v (%T), want a *schema.ValidationError", err, err)
			}
			if ve.Code != c.code || ve.Field != c.field || ve.Rule != c.rule {
				t.Fatalf("got code=%q field=%q rule=%q (%v), want code=%q field=%q rule=%q", ve.Code, ve.Field, ve.Rule, err, c.code, c.field, c.rule)
			}
			if res != (producer.Result{}) {
				t.Errorf("result %+v for a refused job", res)
			}
		})
	}
	if n := messages(t, stream); n != 0 {
		t.Fatalf("the stream holds %d jobs, want 0: an invalid job reached NATS", n)
	}
}

func TestPublishRefusesABadHeaderBeforeNATS(t *testing.T) {
	js, stream := startStreams(t, schema.Names{})
	p := newProducer(t, js)
	job := producer.Card(templateCard("order-1"))
	cases := []struct {
		name string
		opt  producer.PublishOption
		want error
	}{
		{"id with a line break", producer.WithID("order-1\r\nNats-Expected-Stream: X"), producer.ErrInvalidID},
		{"id with a tab", producer.WithID("order\t1"), producer.ErrInvalidID},
		{"id with a trailing space", producer.WithID("order-1 "), producer.ErrInvalidID},
		{"id over 256 bytes", producer.WithID(strings.Repeat("x", 257)), producer.ErrInvalidID},
		{"app with a dash", producer.WithApp("sales-eu"), producer.ErrInvalidApp},
		{"app with a space", producer.WithApp("sales eu"), producer.ErrInvalidApp},
		{"app with a line break", producer.WithApp("sales\n"), producer.ErrInvalidApp},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := p.Publish(t.Context(), job, c.opt); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	if n := messages(t, stream); n != 0 {
		t.Fatalf("the stream holds %d jobs, want 0", n)
	}
	if _, err := p.Publish(t.Context(), job, producer.WithID(strings.Repeat("x", 256))); err != nil {
		t.Fatalf("a 256-byte id: %v", err)
	}
}

func TestPublishTwiceReportsTheDuplicate(t *testing.T) {
	js, stream := startStreams(t, schema.Names{})
	p := newProducer(t, js)
	card := producer.Card(templateCard("order-8812-shipped"))
	first, err := p.Publish(t.Context(), card)
	if err != nil {
		t.Fatal(err)
	}
	again, err := p.Publish(t.Context(), card)
	if err != nil {
		t.Fatalf("a duplicate is reported, not an error: %v", err)
	}
	want := first
	want.Duplicate = true
	if first.Duplicate || again != want {
		t.Fatalf("first %+v, again %+v; want the second a duplicate of the first", first, again)
	}

	// A robot body's id is its hash: the same message twice is one job, unless each has its own id.
	alert := producer.NamedRobot("ops", producer.RobotText("disk full"))
	for i, c := range []struct {
		opts []producer.PublishOption
		dup  bool
	}{{nil, false}, {nil, true}, {[]producer.PublishOption{producer.WithID("disk-full-2")}, false}} {
		res, err := p.Publish(t.Context(), alert, c.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if res.Duplicate != c.dup {
			t.Fatalf("robot publish %d: %+v, want Duplicate %v", i+1, res, c.dup)
		}
	}
	if n := messages(t, stream); n != 3 {
		t.Fatalf("the stream holds %d jobs, want 3 (one card, the robot message twice)", n)
	}
}

// The app picks the subject, and so the job stream; the id in Nats-Msg-Id is the producer's, and
// the result's job id is qualified with the app, as workers and `dingq status` name the job.
func TestPublishSetsIDAndApp(t *testing.T) {
	js, _ := startStreams(t, schema.Names{}, "ops", "sales", "sales_eu")
	names := schema.Names{}
	plain := newProducer(t, js)
	ops := newProducer(t, js, producer.WithDefaultApp("ops"))
	cases := []struct {
		name         string
		p            *producer.Producer
		outTrack     string
		opts         []producer.PublishOption
		msgID, app   string
		wantQualifed string
	}{
		{"WithID replaces the derived id", plain, "order-1", []producer.PublishOption{producer.WithID("order-1-v2")}, "order-1-v2", "", "order-1-v2"},
		{"an empty WithID keeps the derived id", plain, "order-2", []producer.PublishOption{producer.WithID("")}, "order-2", "", "order-2"},
		{"WithApp", plain, "order-3", []producer.PublishOption{producer.WithApp("sales")}, "order-3", "sales", "sales:order-3"},
		{"the default app", ops, "order-4", nil, "order-4", "ops", "ops:order-4"},
		{"WithApp over the default app", ops, "order-5", []producer.PublishOption{producer.WithApp("Sales_EU")}, "order-5", "sales_eu", "sales_eu:order-5"},
		{"an empty WithApp keeps the default app", ops, "order-6", []producer.PublishOption{producer.WithApp("")}, "order-6", "ops", "ops:order-6"},
		{"both", ops, "order-7", []producer.PublishOption{producer.WithApp("default"), producer.WithID("job-7")}, "job-7", "", "job-7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := c.p.Publish(t.Context(), producer.Card(templateCard(c.outTrack)), c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if res.JobID != c.wantQualifed || res.Duplicate || res.Stream != names.JobStreamFor(c.app) {
				t.Fatalf("result %+v, want job id %q in %s, not a duplicate", res, c.wantQualifed, names.JobStreamFor(c.app))
			}
			stream, err := js.Stream(t.Context(), res.Stream)
			if err != nil {
				t.Fatal(err)
			}
			msg := stored(t, stream, res)
			if got := msg.Header.Values(schema.HeaderMsgID); len(got) != 1 || got[0] != c.msgID {
				t.Errorf("%s %q, want [%q]", schema.HeaderMsgID, got, c.msgID)
			}
			if msg.Subject != names.SendSubjectFor(schema.KindCard, c.app) || msg.Header.Get(schema.HeaderApp) != "" {
				t.Errorf("stored on %s with %s %q; want %s and no header", msg.Subject, schema.HeaderApp, msg.Header.Get(schema.HeaderApp),
					names.SendSubjectFor(schema.KindCard, c.app))
			}
		})
	}
}

func TestSubjectPrefix(t *testing.T) {
	js, stream := startStreams(t, schema.NewNames("staging"))
	p := newProducer(t, js, producer.WithSubjectPrefix("staging"))
	res, err := p.Publish(t.Context(), producer.NamedRobot("ops", producer.RobotText("hi")))
	if err != nil {
		t.Fatal(err)
	}
	if res.Stream != "STAGING_JOBS" {
		t.Errorf("stream %q, want STAGING_JOBS", res.Stream)
	}
	if msg := stored(t, stream, res); msg.Subject != "staging.send.robot" {
		t.Errorf("subject %q, want staging.send.robot", msg.Subject)
	}
}

func TestNewRefusesABadOption(t *testing.T) {
	js := startJetStream(t)
	cases := []struct {
		name string
		js   jetstream.JetStream
		opts []producer.Option
		is   error
	}{
		{name: "nil JetStream", js: nil},
		{name: "prefix with a space", js: js, opts: []producer.Option{producer.WithSubjectPrefix("my env")}},
		{name: "prefix with an empty token", js: js, opts: []producer.Option{producer.WithSubjectPrefix("dingq..prod")}},
		{name: "prefix with a wildcard", js: js, opts: []producer.Option{producer.WithSubjectPrefix("dingq.*")}},
		{name: "negative body limit", js: js, opts: []producer.Option{producer.WithMaxBodyBytes(-1)}},
		{name: "default app with a dash", js: js, opts: []producer.Option{producer.WithDefaultApp("sales-eu")}, is: producer.ErrInvalidApp},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := producer.New(c.js, c.opts...)
			if err == nil || p != nil {
				t.Fatalf("got %v, %v; want an error", p, err)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("got %v, want %v", err, c.is)
			}
		})
	}
}

func TestPublishWithoutAJobStreamFails(t *testing.T) {
	p := newProducer(t, startJetStream(t))
	_, err := p.Publish(t.Context(), producer.Card(templateCard("order-1")))
	if !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Fatalf("got %v, want %v", err, jetstream.ErrNoStreamResponse)
	}
	if !strings.Contains(err.Error(), "order-1") {
		t.Errorf("%q does not name the job", err)
	}
}

func TestPublishConcurrently(t *testing.T) {
	js, _ := startStreams(t, schema.Names{}, "ops")
	stream, err := js.Stream(t.Context(), schema.Names{}.JobStreamFor("ops"))
	if err != nil {
		t.Fatal(err)
	}
	p := newProducer(t, js, producer.WithDefaultApp("ops"))
	const goroutines, each = 16, 16
	errs := make(chan error, goroutines*each)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				_, err := p.Publish(t.Context(), producer.Card(templateCard(fmt.Sprintf("order-%d-%d", g, i))))
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := messages(t, stream); n != goroutines*each {
		t.Fatalf("the stream holds %d jobs, want %d", n, goroutines*each)
	}
}
