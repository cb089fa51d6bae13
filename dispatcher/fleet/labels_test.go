package fleet_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/fleet"
	"github.com/dingq/dingq/dispatcher/ratelimit"
	"github.com/dingq/dingq/dispatcher/sandbox"
	"github.com/dingq/dingq/dispatcher/token"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/workertest"
)

// Secrets of the test's fleet, none of which a label may show.
const (
	defaultKey, defaultSecret = "default-app-key", "default-app-secret"
	salesKey, salesSecret     = "sales-app-key", "sales-app-secret"
	robotToken, robotSecret   = "ops-robot-access-token", "SECops-robot-secret"
)

// example reads one of the schema's example job bodies.
func example(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "schema", "testdata", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The labels name every key a fleet's sends leave in its buckets, the robot DingTalk blocked
// among them, and show no credential.
func TestLabelsNameTheKeysOfRealSends(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{RobotLimit: 1, RobotBlock: 10 * time.Minute,
		RobotSecrets: map[string]string{robotToken: robotSecret}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	_, _, js := workertest.StartNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tokens, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "TEST_TOKENS", History: 1, TTL: 3 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	limits, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "TEST_LIMITS", History: 1, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	client := dispatcher.NewHTTPClient(0, 0)
	t.Cleanup(client.CloseIdleConnections)
	cfg := fleet.Config{
		APIURL: srv.URL, OAPIURL: srv.URL, KdocsURL: srv.URL,
		Apps: map[string]fleet.App{
			"":      {Key: defaultKey, Secret: defaultSecret},
			"sales": {Key: salesKey, Secret: salesSecret},
			"twin":  {Key: salesKey, Secret: salesSecret}, // shares sales's limits and tokens
			"nokey": {},
		},
		Robots:    map[string]fleet.Robot{"ops-alerts": {Webhook: srv.URL + "/robot/send?access_token=" + robotToken, Secret: robotSecret}},
		RateAPI:   ratelimit.Rate{N: 100, Per: time.Second},
		RateRobot: ratelimit.Rate{N: 100, Per: time.Second},
		Client:    client, Tokens: tokens, Limits: limits, Logger: zerolog.Nop(),
	}
	sender, err := fleet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}

	for _, job := range []dispatcher.Job{
		{Kind: schema.KindCard, ID: "card", Body: example(t, "card_group.json")},
		{Kind: schema.KindCard, ID: "deliver", App: "sales", Body: example(t, "card_deliver_group.json")},
		{Kind: schema.KindCrossDomain, ID: "cross", App: "twin", Body: example(t, "crossdomain.json")},
	} {
		if err := sender.Send(ctx, job); err != nil {
			t.Fatalf("send %s: %v", job.ID, err)
		}
	}
	// Two messages to a robot that takes one: DingTalk blocks it after the first.
	sent := time.Now()
	err = sender.Send(ctx, dispatcher.Job{Kind: schema.KindRobot, ID: "robot", Body: example(t, "robot_named.json")})
	var de *dispatcher.Error
	if !errors.As(err, &de) || de.Penalty == 0 {
		t.Fatalf("send to the robot over its limit: %v, want DingTalk's block", err)
	}

	labels := fleet.Labels(cfg)
	targets, err := ratelimit.Inspect(ctx, limits)
	if err != nil {
		t.Fatal(err)
	}
	shared, err := token.InspectShared(ctx, tokens)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range targets {
		got[s.Key] = labels[s.Key]
	}
	if len(targets) != 4 || targets[0].Penalty.Before(sent.Add(de.Penalty)) || got[targets[0].Key] != "robot ops-alerts" {
		t.Errorf("targets %v, want 4, first the robot blocked for %v", targets, de.Penalty)
	}
	for _, s := range shared {
		got[s.Key] = labels[s.Key]
	}
	want := map[string]bool{
		"robot ops-alerts":               true,
		"app (default): card":            true,
		"apps sales, twin: card-deliver": true,
		"apps sales, twin: crossdomain":  true,
		"app (default): api":             true,
		"apps sales, twin: api":          true,
		"apps sales, twin: oapi":         true,
	}
	if len(got) != len(want) {
		t.Errorf("labelled keys %q, want %d", got, len(want))
	}
	for key, label := range got {
		if !want[label] {
			t.Errorf("key %s labelled %q, want one of %v", key, label, want)
		}
	}

	// Keys of the unused APIs are labelled too; none of the app without a key.
	if len(labels) != 2*5+1 {
		t.Errorf("%d labels, want 5 for each of the two app keys and 1 for the robot: %q", len(labels), labels)
	}
	for key, label := range labels {
		for _, secret := range []string{defaultKey, defaultSecret, salesKey, salesSecret, robotToken, robotSecret, "nokey"} {
			if strings.Contains(key+" "+label, secret) {
				t.Errorf("label %s %q shows %s", key, label, secret)
			}
		}
	}
}
