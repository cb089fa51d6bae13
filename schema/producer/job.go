package producer

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/dingq/dingq/schema"
)

// Job is a job to publish: its kind and its body, the target API's JSON request body. The
// builders ([Card], [CardDeliver], [CrossDomain], [Robot], [NamedRobot]) make one from the
// schema package's types; a body built elsewhere can be set directly, e.g.
// Job{Kind: schema.KindCard, Body: body}. [Producer.Publish] validates it either way.
//
// A builder does not fail: a value it cannot encode (only a [schema.CardDelivery] whose
// OpenDynamicDataConfig is not JSON) gives a Job that Publish refuses with the encoding error, so
// that every mistake in a job surfaces in one place.
type Job struct {
	Kind schema.Kind
	Body []byte
	err  error // why the builder could not encode the body
}

// Card returns a card job in the template mode, for POST
// /v1.0/im/interactiveCards/templates/send. Its CardData and SingleChatReceiver are JSON in a
// string: see [CardData], [UserReceiver] and [UnionIDReceiver].
func Card(c schema.Card) Job { return build(schema.KindCard, c) }

// CardDeliver returns a card job in the deliver mode, for POST
// /v1.0/card/instances/createAndDeliver. Its CardData is an object, not JSON in a string.
func CardDeliver(d schema.CardDelivery) Job { return build(schema.KindCard, d) }

// CrossDomain returns a cross-domain (互通) job. Its Message.Content is JSON in a string: see
// [CrossDomainText].
func CrossDomain(m schema.CrossDomain) Job { return build(schema.KindCrossDomain, m) }

// Robot returns a robot job for r: its webhook form (Link, and SK when the robot signs) or its
// named form (RobotName). [NamedRobot] is shorter for the named form, which carries no secrets.
func Robot(r schema.Robot) Job {
	if r.Data == nil {
		r.Data = []schema.RobotMessage{} // so that validation says "at least one", not "null"
	}
	return build(schema.KindRobot, r)
}

// NamedRobot returns a robot job that posts msgs to the robot named in the workers'
// configuration (DINGQ_ROBOT_<NAME>_WEBHOOK): the job carries no webhook and no secret. See
// [RobotText] and [RobotMarkdown] for msgs.
func NamedRobot(name string, msgs ...schema.RobotMessage) Job {
	return Robot(schema.Robot{RobotName: name, Data: msgs})
}

// build encodes v as kind's body.
func build(kind schema.Kind, v any) Job {
	body, err := marshal(v)
	if err != nil {
		return Job{Kind: kind, err: fmt.Errorf("producer: encode %s job: %w", kind, err)}
	}
	return Job{Kind: kind, Body: body}
}

// marshal encodes v as compact JSON without escaping <, > and &, as a person would write it: a
// robot message's markdown and URLs stay readable, and its size is what it looks like.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
