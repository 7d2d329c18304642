# AI Admin. `make dev` runs the whole product locally; `make test` runs every test.
SHELL := /bin/bash
GO ?= go
BIN := bin
SQLC_VERSION := v1.30.0
WORKFLOWCHECK_VERSION := v0.6.0
TEST_FLAGS ?= -count=1 -timeout 22m
export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/aiadmin?sslmode=disable
# The build's version and commit, printed by `aiadmin version` (main.version, main.commit).
VERSION ?= $(shell git describe --always --dirty 2>/dev/null)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: dev cluster test fuzz chaos bench lint generate build build-dev temporal-dev postgres chromium clean

## The fuzzers (Go native fuzzing: bad input never costs more than a 4xx), one per line as
## package:FuzzName. `make test` runs each for FUZZTIME_TEST after the other tests, `make fuzz`
## for FUZZTIME; plain `go test` runs their seed corpora as ordinary tests.
FUZZERS := \
	./http:FuzzRegisterQuery \
	./http:FuzzRegisterUserData \
	./http:FuzzLifecycleWebhook \
	./http:FuzzEntityWebhook \
	./http:FuzzPageCommand \
	./activities/yclients:FuzzParseWebhook \
	./activities/yclients:FuzzSplitAnswer \
	./activities/yclients:FuzzDecodeRecords \
	./activities/yclients:FuzzParseTime \
	./activities/yclients:FuzzScalarText \
	./cmd/internal/dispatcher:FuzzRecordEvent \
	./activities/whatsapp:FuzzNormalizePhone \
	./activities/whatsapp:FuzzRedactPhones
FUZZTIME ?= 60s
FUZZTIME_TEST ?= 3s

## dev: the whole product locally (demo mode without YClients credentials)
dev: postgres build-dev temporal-dev
	$(BIN)/aiadmin-dev dev

## cluster: a production-like cluster on this machine: Temporal on PostgreSQL, the fakes, 2 api and
## 3 worker processes behind a proxy (CLUSTER_FLAGS, e.g. -fresh or -ready-file F); Ctrl-C stops it
CLUSTER_FLAGS ?=
cluster: postgres build-dev temporal-dev
	$(BIN)/aiadmin-dev cluster $(CLUSTER_FLAGS)

## build: the production binary (links no fake)
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/aiadmin ./cmd/aiadmin

## build-dev: the development binary (`dev`, and the simulated WhatsApp for multi-process tests)
build-dev:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/aiadmin-dev ./cmd/aiadmin-dev

## temporal-dev: the embedded Temporal server + Web UI (its own Go module, dev and tests only)
temporal-dev:
	$(GO) -C cmd/temporal-dev build -o ../../$(BIN)/temporal-dev .

postgres:
	@db/ensure-postgres.sh

## chromium: Debian's chromium for the browser tests (http/browsertest), installed when missing
chromium:
	@http/browsertest/install-chromium.sh

## test: every test, against a real PostgreSQL and a real Temporal server (started if needed);
## the fault-injection suite at its short size (AIADMIN_CHAOS=short; set it empty to skip it)
AIADMIN_CHAOS ?= short
test: postgres temporal-dev chromium
	@AIADMIN_CHAOS=$(AIADMIN_CHAOS) cmd/temporal-dev/with-temporal.sh $(GO) test $(TEST_FLAGS) ./...
	$(GO) -C cmd/temporal-dev test $(TEST_FLAGS) ./...
	@GO=$(GO) cmd/aiadmin-dev/fuzz.sh $(FUZZTIME_TEST) $(FUZZERS)

## fuzz: every fuzzer for FUZZTIME each (default 60s; e.g. make fuzz FUZZTIME=10m)
fuzz: postgres
	@GO=$(GO) cmd/aiadmin-dev/fuzz.sh $(FUZZTIME) $(FUZZERS)

## chaos: the fault-injection suite at full size (its own PostgreSQL server, Temporal on it, 2 api
## and 3 worker processes, the fakes): one line R<n>: … per scenario; fails on any loss or duplicate
chaos: postgres temporal-dev
	AIADMIN_CHAOS=full $(GO) test -count=1 -timeout 60m -v -run '^TestChaos$$' ./cmd/aiadmin-dev

## bench: benchmarks against the real stack; CLUSTER=1 runs P1, P2 and P4 against a production-like
## cluster (`make cluster`'s code, started once for the run and stopped after it); BENCH picks
## benchmarks by name (e.g. BENCH=BenchmarkInstallWave for P2 alone; default: all)
BENCH ?= .
bench: postgres temporal-dev
	@AIADMIN_BENCH_CLUSTER=$(CLUSTER) cmd/temporal-dev/with-temporal.sh $(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count=1 -timeout 90m ./...

## lint: gofmt, go vet and workflowcheck (workflow determinism)
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^db/sqlc/')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) -C cmd/temporal-dev vet ./...
	$(GO) run go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION) ./workflows/...

## generate: sqlc (pinned) from db/queries into db/sqlc
generate:
	$(GO) run github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION) generate -f db/sqlc.yaml

clean:
	rm -rf $(BIN)
