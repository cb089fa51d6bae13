// Package containers tests dingq as it is deployed: the images `make image` builds, a
// three-node NATS JetStream cluster on a Docker network, the DingTalk sandbox and two workers,
// each in its own container. The tests stop, partition and heal nodes and stop workers while
// jobs flow, and check that every job is delivered or dead-lettered, never lost.
//
// The tests are behind the build tag containers and need a Docker engine and the local images
// dingq:dev and dingq-nats:dev; they pull nothing, and fail (never skip) when either is missing:
//
//	make test-containers
//
// which builds the images and runs
//
//	TESTCONTAINERS_RYUK_DISABLED=true go test -tags containers -count=1 -timeout 20m ./deploy/containers/...
//
// Each test removes its own containers and network; no reaper container is used.
package containers
