package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dingq/dingq/dispatcher/sandbox"
	"github.com/dingq/dingq/schema"
	"github.com/nats-io/nats.go"
)

// The storm scenario: an alert storm to one group robot must not hold other jobs back. It does
// not compare with the ceiling (a bare loop has no rate limits to be fair under); it reports what
// a flood does to everyone else.
//
//  1. stormAlerts robot messages to one robot are queued, and one dingq worker started with
//     DingTalk's own limits (20 a minute per robot, 20 a second per app API), posting straight
//     to the robot's webhook, where the sandbox answers 410100 to a 21st message in a minute.
//  2. Once every alert is deferred to its turn, stormCards cards are published, stormCardRate a
//     second; each card's publish → arrival at the sandbox is its latency.
//  3. stormMore alerts more are queued, and once all are deferred, the worker's memory is read.
//  4. The robot's messages are counted over at least stormWatch since the worker started: it
//     must be held at its limit, and never answered 410100.
//
// Beside the cards, one alert for another robot is published as the worker starts, behind the
// flood in the robot consumer: its latency is how long the flood holds other robots back.
const (
	stormAlerts   = 25_000
	stormCards    = 100
	stormCardRate = 5
	stormMore     = 75_000
	stormWatch    = 150 * time.Second
)

// stormResult is what the storm scenario measured.
type stormResult struct {
	alerts, total  int           // alerts in phase 1; alerts deferred when the memory is read
	deferTook      time.Duration // queued alerts → all deferred (phase 1)
	otherRobot     time.Duration // another robot's alert, published behind the flood: publish → at DingTalk
	cards          []time.Duration
	cardP          []time.Duration // p50, p99, max of the cards' latency
	robotSent      int             // robot messages the sandbox accepted over robotWindow
	robotWindow    time.Duration   // the worker's start → the last card's arrival
	robotThrottled int             // 410100 answers
	peakRSS        int64           // KiB, the worker's VmHWM with every alert deferred
	took           time.Duration
}

// storm runs the storm scenario.
func (l *lab) storm(ctx context.Context, o options) (*stormResult, error) {
	began := time.Now()
	res := &stormResult{alerts: scaled(o, stormAlerts)}
	more := scaled(o, stormMore)
	res.total = res.alerts + more
	n := res.total + stormCards + 1 // the last: another robot's alert
	other := n - 1
	isCard := func(i int) bool { return i >= res.alerts && i < res.alerts+stormCards }
	load := workload{n: n, kindAt: func(i int) schema.Kind {
		if isCard(i) {
			return schema.KindCard
		}
		return schema.KindRobot
	}}
	if err := l.resetStreams(ctx); err != nil {
		return nil, err
	}
	sb, err := startSandbox(sandbox.Config{RobotLimit: 20, RobotWindow: time.Minute, APIRate: 20, Seed: 1}, load,
		func(int, bool) bool { return false })
	if err != nil {
		return nil, err
	}
	defer sb.close()
	pubAt := make([]int64, n)
	publish := func(from, to int) error {
		for i := from; i < to; i++ {
			if err := l.publishOne(load, i, pubAt); err != nil {
				return err
			}
		}
		return l.waitPublished(ctx)
	}
	if err := publish(0, res.alerts); err != nil {
		return nil, err
	}
	l.log.printf("storm: %d alerts for one robot queued", res.alerts)

	spec := workerSpec{side: sideDingq, concurrency: 64, rateAPI: "20/1s", rateRobot: "20/1m", robotVia: "direct"}
	w, err := l.startWorker(ctx, spec, sb.url, 0)
	if err != nil {
		return nil, err
	}
	defer func() { _ = w.stop(40 * time.Second) }()
	started := time.Now()
	otherAlert := &nats.Msg{Subject: l.names.SendSubject(schema.KindRobot),
		Data: bytes.Replace(load.body(other), []byte("access_token=bench-robot"), []byte("access_token=bench-robot-2"), 1)}
	pubAt[other] = now()
	if _, err := l.js.PublishMsgAsync(otherAlert); err != nil {
		return nil, err
	}
	posted := func() int { return sb.sb.Stats().Deliveries[schema.KindRobot] }
	if err := l.waitDeferred(ctx, w, res.alerts, posted); err != nil {
		return nil, err
	}
	res.deferTook = time.Since(started)
	l.log.printf("storm: every alert deferred after %.1f s; publishing %d cards, %d a second", res.deferTook.Seconds(), stormCards, stormCardRate)

	interval, cardsFrom := time.Second/stormCardRate, time.Now()
	for k := range stormCards {
		if err := sleepCtx(ctx, time.Until(cardsFrom.Add(time.Duration(k)*interval))); err != nil {
			return nil, err
		}
		if err := l.publishOne(load, res.alerts+k, pubAt); err != nil {
			return nil, err
		}
	}
	if err := l.waitPublished(ctx); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		arrived := 0
		for i := res.alerts; i < res.alerts+stormCards; i++ {
			if sb.tr.arrive[i].Load() != 0 {
				arrived++
			}
		}
		if arrived == stormCards {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("storm: %d of %d cards reached the sandbox within a minute\n%s", arrived, stormCards, w.logTail(20))
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return nil, err
		}
	}
	for i := res.alerts; i < res.alerts+stormCards; i++ {
		res.cards = append(res.cards, time.Duration(sb.tr.arrive[i].Load()-pubAt[i]))
	}
	res.cardP = percentiles(res.cards, 0.50, 0.99, 1)
	if a := sb.tr.arrive[other].Load(); a != 0 {
		res.otherRobot = time.Duration(a - pubAt[other])
	}
	l.log.printf("storm: card latency p50 %v p99 %v; the other robot's alert %v",
		res.cardP[0].Round(time.Millisecond), res.cardP[1].Round(time.Millisecond), res.otherRobot.Round(time.Millisecond))

	if err := publish(res.alerts+stormCards, other); err != nil {
		return nil, err
	}
	if err := l.waitDeferred(ctx, w, res.total, posted); err != nil {
		return nil, err
	}
	if res.peakRSS, err = w.peakRSS(); err != nil {
		return nil, err
	}
	l.log.printf("storm: %d alerts deferred; worker peak RSS %.1f MiB; counting the robot's messages until %v after the start",
		res.total, float64(res.peakRSS)/1024, stormWatch)
	if err := sleepCtx(ctx, time.Until(started.Add(stormWatch))); err != nil {
		return nil, err
	}
	res.robotWindow = time.Since(started)
	st := sb.sb.Stats()
	res.robotSent = st.Deliveries[schema.KindRobot] - 1 // less the other robot's alert
	res.robotThrottled = st.Outcomes[schema.KindRobot][sandbox.OutcomeThrottled]
	l.log.printf("storm: robot messages %d in %.0f s, 410100 answers %d", res.robotSent, res.robotWindow.Seconds(), res.robotThrottled)
	res.took = time.Since(began)
	return res, nil
}

// waitDeferred waits until the robot consumer has handed out every alert and holds the want
// alerts not posted yet pending: deferred to their turns. It fails when that takes over 10
// minutes, or the worker exits.
func (l *lab) waitDeferred(ctx context.Context, w *workerProc, want int, posted func() int) error {
	deadline := time.Now().Add(10 * time.Minute)
	lastReport := time.Now()
	for {
		c, err := l.js.Consumer(ctx, l.names.JobStream(), l.names.ConsumerFor(schema.KindRobot))
		if err != nil {
			return err
		}
		ci := c.CachedInfo()
		if ci.NumPending == 0 && ci.NumAckPending+posted() >= want {
			return nil
		}
		if w.exited() {
			return fmt.Errorf("storm: the worker exited\n%s", w.logTail(20))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("storm: %d alerts not yet handed out, %d pending, after 10 minutes", ci.NumPending, ci.NumAckPending)
		}
		if time.Since(lastReport) >= 5*time.Second {
			lastReport = time.Now()
			l.log.printf("storm: %d alerts deferred, %d to go", ci.NumAckPending, ci.NumPending)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// markdown is the storm's section of the report.
func (s *stormResult) markdown() string {
	var b strings.Builder
	b.WriteString("\n### Storm: an alert flood to one robot, and everyone else\n\n")
	fmt.Fprintf(&b, "%d alerts for one robot queued, one dingq worker at DingTalk's limits (20/min per robot, 20/s per app API), posting straight to the webhook. ", s.alerts)
	fmt.Fprintf(&b, "Then %d cards, %d a second; then %d alerts more.\n\n", stormCards, stormCardRate, s.total-s.alerts)
	b.WriteString("| figure | value |\n|---|--:|\n")
	fmt.Fprintf(&b, "| alerts deferred to their turns after | %.1f s |\n", s.deferTook.Seconds())
	fmt.Fprintf(&b, "| card publish → at DingTalk, p50 / p99 / max | %s / %s / %s |\n", ms(s.cardP[0]), ms(s.cardP[1]), ms(s.cardP[2]))
	fmt.Fprintf(&b, "| another robot's alert, published behind the flood: publish → at DingTalk | %s |\n", ms(s.otherRobot))
	perMin := 0.0
	if s.robotWindow > 0 {
		perMin = float64(s.robotSent) / s.robotWindow.Minutes()
	}
	fmt.Fprintf(&b, "| robot messages posted (limit 20/min) | %d in %.0f s (%.1f/min) |\n", s.robotSent, s.robotWindow.Seconds(), perMin)
	fmt.Fprintf(&b, "| 410100 answers (robot over its limit) | %d |\n", s.robotThrottled)
	fmt.Fprintf(&b, "| worker peak RSS with %d alerts deferred | %.1f MiB |\n", s.total, float64(s.peakRSS)/1024)
	return b.String()
}
