//go:build containers

package containers

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/network"
)

// A fault is something done to the deployment while jobs flow: when says when, from the run's
// progress; do does it and returns what it did, for the report.
type fault struct {
	when func(p progress) bool
	do   func(ctx context.Context, s *stack) (string, error)
}

// progress is what a run knows when it decides on the next fault.
type progress struct {
	delivered        int           // distinct jobs the sandbox has accepted
	deliveredAtFault int           // delivered when the previous fault was done
	sinceFault       time.Duration // since the previous fault, or since the run began
	leader           string        // the node leading the workers' consumer, as last seen
	faulted          string        // the node the last node fault hit
}

// atDelivered fires once n distinct jobs are delivered.
func atDelivered(n int) func(progress) bool {
	return func(p progress) bool { return p.delivered >= n }
}

// stopLeaderNode stops (SIGTERM, then SIGKILL after 10 s) the node that leads the workers'
// consumer.
func stopLeaderNode() fault {
	return fault{do: func(ctx context.Context, s *stack) (string, error) {
		n, err := s.leaderNode(ctx)
		if err != nil {
			return "", err
		}
		grace := 10 * time.Second
		if err := n.c.Stop(ctx, &grace); err != nil {
			return "", fmt.Errorf("stop %s: %w", n.name, err)
		}
		s.faulted = n
		return "stopped " + n.name + ", the consumer's leader", nil
	}}
}

// partitionLeaderNode cuts the node that leads the workers' consumer off the network: its
// routes, its clients and its mapped ports go silent, while it keeps running.
func partitionLeaderNode() fault {
	return fault{do: func(ctx context.Context, s *stack) (string, error) {
		n, err := s.leaderNode(ctx)
		if err != nil {
			return "", err
		}
		if err := s.docker.NetworkDisconnect(ctx, s.net.ID, n.c.GetContainerID(), true); err != nil {
			return "", fmt.Errorf("disconnect %s: %w", n.name, err)
		}
		s.faulted = n
		return "cut " + n.name + ", the consumer's leader, off the network", nil
	}}
}

// healPartition puts the partitioned node back on the network under its name and address, as a
// repaired link would: the connections it had resume.
func healPartition() fault {
	return fault{do: func(ctx context.Context, s *stack) (string, error) {
		n := s.faulted
		if n == nil {
			return "", fmt.Errorf("no partitioned node to heal")
		}
		err := s.docker.NetworkConnect(ctx, s.net.ID, n.c.GetContainerID(), &network.EndpointSettings{
			Aliases:    []string{n.name},
			IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: n.ip},
		})
		if err != nil {
			return "", fmt.Errorf("reconnect %s: %w", n.name, err)
		}
		return "reconnected " + n.name, nil
	}}
}

// stopWorker stops worker i (from 0) as an orchestrator would: SIGTERM, and SIGKILL after 30 s,
// beyond the worker's 25 s shutdown timeout.
func stopWorker(i int) fault {
	return fault{do: func(ctx context.Context, s *stack) (string, error) {
		grace := 30 * time.Second
		if err := s.workers[i].Stop(ctx, &grace); err != nil {
			return "", fmt.Errorf("stop worker-%d: %w", i+1, err)
		}
		return fmt.Sprintf("stopped worker-%d", i+1), nil
	}}
}

// at sets when a fault fires.
func (f fault) at(when func(progress) bool) fault {
	f.when = when
	return f
}

// leaderNode is the node that leads the workers' consumer now.
func (s *stack) leaderNode(ctx context.Context) (*natsNode, error) {
	leader, err := consumerLeader(ctx, s.js)
	if err != nil {
		return nil, err
	}
	for _, n := range s.nodes {
		if n.name == leader {
			return n, nil
		}
	}
	return nil, fmt.Errorf("consumer leader %q is none of the nodes", leader)
}
