package producer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/schema/producer"
)

func newValidator(t *testing.T) *schema.Validator {
	t.Helper()
	v, err := schema.NewValidator(schema.ValidatorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// decode unmarshals JSON text into a new T, failing the test if it is not JSON.
func decode[T any](t *testing.T, text []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(text, &v); err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return v
}

// awkward are values that JSON must escape, or that a careless encoder would.
var awkward = []string{"", "plain", `quote " and \ backslash`, "line\nbreak\ttab", "<b>Tom & Jerry</b>", "订单已发货 ✓", `{"nested":"json"}`}

func TestCardDataRoundTrips(t *testing.T) {
	params := map[string]string{}
	for i, s := range awkward {
		params[string(rune('a'+i))] = s
	}
	got := decode[struct{ CardParamMap map[string]string }](t, []byte(producer.CardData(params)))
	if !reflect.DeepEqual(got.CardParamMap, params) {
		t.Fatalf("decoded %q, want %q", got.CardParamMap, params)
	}
	if got, want := producer.CardData(map[string]string{"title": "Shipped"}), `{"cardParamMap":{"title":"Shipped"}}`; got != want {
		t.Errorf("CardData = %s, want %s", got, want)
	}
	if got, want := producer.CardData(nil), `{"cardParamMap":{}}`; got != want {
		t.Errorf("CardData(nil) = %s, want %s", got, want)
	}
}

func TestStringFieldHelpersRoundTrip(t *testing.T) {
	for _, s := range awkward {
		if got := decode[map[string]string](t, []byte(producer.UserReceiver(s))); !reflect.DeepEqual(got, map[string]string{"userId": s}) {
			t.Errorf("UserReceiver(%q) decodes to %q", s, got)
		}
		if got := decode[map[string]string](t, []byte(producer.UnionIDReceiver(s))); !reflect.DeepEqual(got, map[string]string{"unionId": s}) {
			t.Errorf("UnionIDReceiver(%q) decodes to %q", s, got)
		}
		if got := decode[map[string]string](t, []byte(producer.CrossDomainText(s))); !reflect.DeepEqual(got, map[string]string{"content": s}) {
			t.Errorf("CrossDomainText(%q) decodes to %q", s, got)
		}
	}
}

// TestBuildersMakeBodiesTheSchemaAccepts checks each builder against the workers' validator, and
// that the body decodes back to the value it was built from: the JSON-in-a-string fields are
// strings in the body, and the deliver mode's cardData an object.
func TestBuildersMakeBodiesTheSchemaAccepts(t *testing.T) {
	v := newValidator(t)
	card := templateCard("order-8812")
	card.CardData = producer.CardData(map[string]string{"title": "<b>Tom & Jerry</b>", "items": `["a","b"]`})
	card.SendOptions = &schema.CardSendOptions{AtAll: true}
	single := singleCard()
	single.SingleChatReceiver = producer.UnionIDReceiver("union-001")
	named := schema.Robot{RobotName: "ops-alerts", Data: []schema.RobotMessage{
		producer.RobotMarkdown("Deploy", "### Deploy\n- service: api"), producer.RobotText("build 42 passed")}}
	cases := []struct {
		name  string
		job   producer.Job
		kind  schema.Kind
		value any // what the body must decode back to
		into  func([]byte) (any, error)
	}{
		{"card template", producer.Card(card), schema.KindCard, card, decodeAs[schema.Card]},
		{"card to a unionId", producer.Card(single), schema.KindCard, single, decodeAs[schema.Card]},
		{"card createAndDeliver", producer.CardDeliver(deliveredCard()), schema.KindCard, deliveredCard(), decodeAs[schema.CardDelivery]},
		{"crossdomain", producer.CrossDomain(crossDomain()), schema.KindCrossDomain, crossDomain(), decodeAs[schema.CrossDomain]},
		{"robot webhook", producer.Robot(linkRobot()), schema.KindRobot, linkRobot(), decodeAs[schema.Robot]},
		{"robot named", producer.NamedRobot(named.RobotName, named.Data...), schema.KindRobot, named, decodeAs[schema.Robot]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.job.Kind != c.kind {
				t.Fatalf("kind %q, want %q", c.job.Kind, c.kind)
			}
			if err := v.Validate(c.job.Kind, c.job.Body); err != nil {
				t.Fatalf("%s: %v", c.job.Body, err)
			}
			got, err := c.into(c.job.Body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.value) {
				t.Fatalf("body %s decodes to %+v, want %+v", c.job.Body, got, c.value)
			}
		})
	}
}

func decodeAs[T any](b []byte) (any, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}

func TestCardBodiesKeepTheirShape(t *testing.T) {
	tmpl := decode[map[string]any](t, producer.Card(singleCard()).Body)
	for _, field := range []string{"cardData", "singleChatReceiver"} {
		if _, ok := tmpl[field].(string); !ok {
			t.Errorf("template card: %s is %T, want a JSON string", field, tmpl[field])
		}
	}
	if got := decode[map[string]string](t, []byte(tmpl["singleChatReceiver"].(string))); got["userId"] != "user001" {
		t.Errorf("singleChatReceiver %q, want userId user001", got)
	}
	deliver := decode[map[string]any](t, producer.CardDeliver(deliveredCard()).Body)
	if _, ok := deliver["cardData"].(map[string]any); !ok {
		t.Errorf("createAndDeliver card: cardData is %T, want an object", deliver["cardData"])
	}
	if got := schema.CardModeOf(producer.CardDeliver(deliveredCard()).Body); got != schema.CardDeliver {
		t.Errorf("mode %q, want %q", got, schema.CardDeliver)
	}
}

func TestRobotBodies(t *testing.T) {
	named := producer.NamedRobot("ops", producer.RobotText("a&b <c>"))
	body := decode[map[string]any](t, named.Body)
	for _, secret := range []string{"link", "sk"} {
		if _, ok := body[secret]; ok {
			t.Errorf("a named robot job holds %q: %s", secret, named.Body)
		}
	}
	if !bytes.Contains(named.Body, []byte("a&b <c>")) {
		t.Errorf("body %s escapes what needs no escaping", named.Body)
	}
	// No messages: the schema's "at least one", not a null.
	err := newValidator(t).Validate(schema.KindRobot, producer.NamedRobot("ops").Body)
	var ve *schema.ValidationError
	if !errors.As(err, &ve) || ve.Field != "data" || ve.Rule != "minItems" {
		t.Fatalf("got %v, want data: minItems", err)
	}
}

func TestABodyThatCannotBeEncodedIsRefusedByPublish(t *testing.T) {
	d := deliveredCard()
	d.OpenDynamicDataConfig = json.RawMessage(`{not json`)
	job := producer.CardDeliver(d)
	if job.Body != nil {
		t.Fatalf("body %s, want none", job.Body)
	}
	js, stream := startStreams(t, schema.Names{})
	_, err := newProducer(t, js).Publish(t.Context(), job)
	var syntax *json.SyntaxError
	if err == nil || !errors.As(err, &syntax) {
		t.Fatalf("got %v, want the encoding error", err)
	}
	if n := messages(t, stream); n != 0 {
		t.Fatalf("the stream holds %d jobs, want 0", n)
	}
}
