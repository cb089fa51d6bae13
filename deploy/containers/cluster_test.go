//go:build containers

package containers

import (
	"testing"
	"time"
)

const jobs = 2000

// deployment is the setup both tests share: two workers of 16 sends each against a sandbox that
// takes 250 ms per send, so that 2,000 jobs take long enough for faults to land mid-run; a short
// ack wait, so that a job whose worker or ack went away comes back within seconds.
var deployment = stackConfig{workers: 2, ackWait: 5 * time.Second, concurrency: 16, sandboxLatency: 250 * time.Millisecond}

// A node stopped mid-run (the one leading the workers' consumer, the harshest), then a worker:
// every job is delivered or dead-lettered.
func TestClusterLosesNoJobWhenANodeAndAWorkerStop(t *testing.T) {
	s := startStack(t, deployment)
	r := s.run(t, jobs, []fault{
		stopLeaderNode().at(atDelivered(jobs / 4)),
		stopWorker(1).at(atDelivered(jobs / 2)),
	})
	r.report(t, "node and worker stopped")
	r.assertNoneLost(t)
}

// The node leading the workers' consumer cut off the network mid-run, healed once the others
// have carried on without it, then a worker stopped: every job is delivered or dead-lettered.
func TestClusterLosesNoJobAcrossANetworkPartition(t *testing.T) {
	s := startStack(t, deployment)
	r := s.run(t, jobs, []fault{
		partitionLeaderNode().at(atDelivered(jobs / 4)),
		healPartition().at(majorityCarriedOn(jobs/8, time.Minute)),
		stopWorker(1).at(atDelivered(3 * jobs / 4)),
	})
	r.report(t, "network partition")
	r.assertNoneLost(t)
}

// majorityCarriedOn holds once the nodes left have elected another leader for the consumer and
// delivered n more jobs without the partitioned node, or after longest whatever happened.
func majorityCarriedOn(n int, longest time.Duration) func(progress) bool {
	return func(p progress) bool {
		moved := p.leader != "" && p.leader != p.faulted
		return (moved && p.delivered >= p.deliveredAtFault+n) || p.sinceFault >= longest
	}
}
