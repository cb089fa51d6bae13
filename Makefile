# dingq: every command the README names is a target here. `make help` lists them.
GO       ?= go
PKGS     := ./...
BIN      := bin/dingq
# Short fuzzing inside `make test`; `make fuzz` runs each target for FUZZTIME. scripts/fuzz.sh
# explains why a run is sometimes repeated (a Go 1.26 fuzzing flake, not a finding).
FUZZ_SHORT ?= 8s
FUZZTIME   ?= 5m

.DEFAULT_GOAL := help
.PHONY: help run build test test-short fuzz bench lint fmt vet clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## run a worker on an embedded NATS and the built-in DingTalk sandbox, with demo jobs
	$(GO) build -o $(BIN) ./cmd/dingq
	./$(BIN) serve --sandbox --demo --log-format console

build: ## build bin/dingq (static)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/dingq

# Each fuzz target, as "package:Target"; `go test -fuzz` takes one target per run.
FUZZ_TARGETS := ./schema:FuzzValidate ./schema:FuzzFastPath ./schema:FuzzJobID ./schema:FuzzCardModeOf ./dispatcher:FuzzClassify

test: vet ## run the whole test suite (race detector on), then each fuzz target briefly
	$(GO) test -race -count=1 -timeout 8m $(PKGS)
	bash scripts/fuzz.sh $(FUZZ_SHORT) 3s $(FUZZ_TARGETS)

test-short: ## the tests without the race detector, quicker while editing
	$(GO) test -count=1 $(PKGS)

fuzz: ## fuzz the job decoders, validators and answer classifiers for FUZZTIME each
	bash scripts/fuzz.sh $(FUZZTIME) 10s $(FUZZ_TARGETS)

bench: ## dingq against a bare-loop ceiling, one table (BENCH_ARGS='-scale 0.1' for a quick run); then the micro-benchmarks
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
