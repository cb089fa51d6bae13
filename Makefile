# dingq: every command the README names is a target here. `make help` lists them.
GO       ?= go
PKGS     := ./...
BIN      := bin/dingq
# Short fuzzing inside `make test`; `make fuzz` runs each target for FUZZTIME. scripts/fuzz.sh
# explains why a run is sometimes repeated (a Go 1.26 fuzzing flake, not a finding).
FUZZ_SHORT ?= 8s
FUZZTIME   ?= 5m

.DEFAULT_GOAL := help
.PHONY: help run build test test-short test-browser screenshots fuzz bench lint fmt vet clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## run a worker on an embedded NATS and the built-in DingTalk sandbox, with demo jobs and the console on :8080
	$(GO) build -o $(BIN) ./cmd/dingq
	./$(BIN) serve --sandbox --demo --console 127.0.0.1:8080 --log-format console

build: ## build bin/dingq (static)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/dingq

# Each fuzz target, as "package:Target"; `go test -fuzz` takes one target per run.
FUZZ_TARGETS := ./schema:FuzzValidate ./schema:FuzzFastPath ./schema:FuzzJobID ./schema:FuzzCardModeOf ./dispatcher:FuzzClassify ./worker/status:FuzzRecordJSON

test: vet ## run the whole test suite (race detector on), then each fuzz target briefly
	$(GO) test -race -count=1 -timeout 8m $(PKGS)
	bash scripts/fuzz.sh $(FUZZ_SHORT) 3s $(FUZZ_TARGETS)

test-browser: ## drive the console in a headless Chromium (Debian's chromium package; fails without it)
	$(GO) test -tags browser -count=1 -timeout 5m -run Browser ./console/

screenshots: ## save a screenshot of each console page under docs/console/ (needs chromium)
	mkdir -p docs/console
	DINGQ_SCREENSHOTS=$(CURDIR)/docs/console $(GO) test -tags browser -count=1 -timeout 5m -run Browser ./console/

test-short: ## the tests without the race detector, quicker while editing
	$(GO) test -count=1 $(PKGS)

fuzz: ## fuzz the job decoders, validators, answer classifiers and status encoding for FUZZTIME each
	bash scripts/fuzz.sh $(FUZZTIME) 10s $(FUZZ_TARGETS)

bench: ## dingq against a bare-loop ceiling, one table, about 10 min (BENCH_ARGS='-scale 0.1 -runs 1' for a quick run); then the micro-benchmarks
	$(GO) run ./cmd/dingq-bench $(BENCH_ARGS)
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

lint: vet ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l .)" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	$(GO) run honnef.co/go/tools/cmd/staticcheck@latest $(PKGS)

fmt: ## format the code
	gofmt -w .

vet: ## go vet
	$(GO) vet $(PKGS)

clean: ## remove build output and the local NATS store
	rm -rf bin data

# Containers: images FROM scratch around binaries built here, so no image is ever pulled.
# deploy/docker/README.md explains the images and the docker-compose setup.
DOCKER     ?= docker
COMPOSE    ?= docker-compose
IMAGE_TAG  ?= dev
CA_CERTS   ?= /etc/ssl/certs/ca-certificates.crt
DOCKER_CTX := bin/docker
# Static (no libc), stripped, no local paths; GOOS=linux so that a macOS host builds for its Docker VM.
DOCKER_GOBUILD := CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags "-s -w"
.PHONY: image compose-up compose-down

image: ## build the images dingq:dev and dingq-nats:dev (FROM scratch around static binaries built here)
	mkdir -p $(DOCKER_CTX)/empty
	$(DOCKER_GOBUILD) -o $(DOCKER_CTX)/dingq ./cmd/dingq
	$(DOCKER_GOBUILD) -o $(DOCKER_CTX)/nats-server github.com/nats-io/nats-server/v2
	cp $(CA_CERTS) $(DOCKER_CTX)/ca-certificates.crt
	$(DOCKER) build -f deploy/docker/dingq.Dockerfile -t dingq:$(IMAGE_TAG) .
	$(DOCKER) build -f deploy/docker/nats.Dockerfile -t dingq-nats:$(IMAGE_TAG) .
	@$(DOCKER) image ls --format '{{.Repository}}:{{.Tag}}	{{.Size}}' \
		--filter reference=dingq:$(IMAGE_TAG) --filter reference=dingq-nats:$(IMAGE_TAG)

compose-up: image ## build the images, start docker-compose.yml (3 NATS, 2 workers, sandbox), wait for /readyz
	$(COMPOSE) up -d
	@echo "waiting for the workers' /readyz (a first start on empty volumes takes about 40 s: deploy/docker/README.md)"
	@start=$$(date +%s); for port in $${HOST_WORKER_1_PORT:-9091} $${HOST_WORKER_2_PORT:-9092}; do \
		until curl -fs -o /dev/null http://127.0.0.1:$$port/readyz 2>/dev/null; do \
			if [ $$(( $$(date +%s) - start )) -ge 120 ]; then \
				echo "worker on :$$port not ready after 120 s; see $(COMPOSE) logs"; exit 1; fi; \
			sleep 1; \
		done; \
	done; echo "both workers ready after $$(( $$(date +%s) - start )) s"

compose-down: ## stop docker-compose.yml and delete its volumes (the JetStream stores)
	$(COMPOSE) down -v

# Container tests (deploy/containers/): the images above as a three-node NATS cluster, the sandbox
# and two workers, with a node stopped or cut off the network while jobs flow. They need a Docker
# engine and fail without one; no image is pulled, and no reaper container is started.
.PHONY: test-containers

test-containers: image ## build the images, then test a real NATS cluster in Docker (a few minutes)
	TESTCONTAINERS_RYUK_DISABLED=true $(GO) test -tags containers -count=1 -timeout 20m -v ./deploy/containers/...
