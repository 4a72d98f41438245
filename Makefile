# leadscore: build, test and run locally. `make help` lists the targets.

GO        ?= go
NPM       ?= npm
# SAM sets ARTIFACTS_DIR when it runs a build-<LogicalId> target; `make build`
# puts each bootstrap under build/<LogicalId>/.
ARTIFACTS_DIR ?= build/$(subst build-,,$@)
STATICCHECK ?= $(shell command -v staticcheck 2>/dev/null || echo $(HOME)/go/bin/staticcheck)
FUZZTIME  ?= 10s
FN        ?=
EVENT     ?=
# The local stack's invoke API (make run's -invoke-addr).
ENDPOINT  ?= http://127.0.0.1:3001

# One Lambda bootstrap for provided.al2023 on arm64. lambda.norpc drops the
# legacy go1.x RPC server the custom runtime never uses.
define lambda
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(1)
endef

FUNCTIONS := IngestFunction ApiFunction ScoreFunction SweepFunction HandoffFunction

.PHONY: tracker help run test unit invoke build $(addprefix build-,$(FUNCTIONS)) fuzz bench load lint emulators clean screenshots console-figures

help:
	@echo "make run                         the whole pipeline on 127.0.0.1:3000 (Ctrl-C stops it)"
	@echo "make test                        go vet, unit and integration tests (starts its own emulators)"
	@echo "make unit                        go test -short: the fast loop, no emulators (emulator-backed tests skip)"
	@echo "make invoke FN=score EVENT=events/score-sqs-batch.json [ENDPOINT=http://127.0.0.1:3001]"
	@echo "                                 one function, one event, against make run's invoke API"
	@echo "                                 (FN=api EVENT=events/api-get-lead.json for the API's routes)"
	@echo "make build                       arm64 bootstraps for every function under build/"
	@echo "make fuzz [FUZZTIME=10s]         every fuzz target, briefly"
	@echo "make bench                       Go benchmarks, load runs, function sizes/cold init/memory -> docs/benchmarks.md, docs/performance.md"
	@echo "make tradeoff                    paced load runs per score-queue batching -> docs/perf/tradeoff.svg and .md"
	@echo "make tradeoff-chart              redraw that chart and table from the runs kept in docs/perf/runs/"
	@echo "make load [LOAD_FLAGS=...]       one load run against a fresh local stack (go run ./infra/load -h)"
	@echo "make lint                        gofmt, go vet, staticcheck"
	@echo "make emulators                   npm ci into infra/node_modules (the other targets run it when needed)"
	@echo "make clean                       remove build/ and .aws-sam/"
	@echo "make tracker                     minify shared/tracker/t.js into t.min.js (commit both)"
	@echo "make screenshots                 the console's views in headless Chromium -> build/screenshots, docs/console-*.png"
	@echo "make console-figures [LEADS=10000] console first paint, MQL list and preview timings on a local stack"

# --- SAM (BuildMethod: makefile): one target per function's logical id.
build-IngestFunction:
	$(call lambda,ingest)
build-ApiFunction:
	$(call lambda,api)
build-ScoreFunction:
	$(call lambda,score)
build-SweepFunction:
	$(call lambda,sweep)
build-HandoffFunction:
	$(call lambda,handoff)

build: $(addprefix build-,$(FUNCTIONS))

# --- emulators, pinned in infra/package-lock.json
emulators: infra/node_modules/.package-lock.json
infra/node_modules/.package-lock.json: infra/package.json infra/package-lock.json
	$(NPM) ci --prefix infra --no-audit --no-fund --loglevel=error

# --- the browser tracker: t.js minified by terser (pinned in infra/package.json).
# The first line records the source's SHA-256; shared/tracker's tests fail when
# t.min.js is stale or over 5 KB.
tracker: emulators
	{ printf '/*! leadscore tracker, docs/api.md; source sha256 %s */\n' "$$(sha256sum shared/tracker/t.js | cut -c1-64)"; \
	  infra/node_modules/.bin/terser shared/tracker/t.js --compress --mangle; } > shared/tracker/t.min.js.tmp
	mv shared/tracker/t.min.js.tmp shared/tracker/t.min.js

run: emulators
	$(GO) run ./infra/localstack

invoke: 
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=<ingest|api|score|sweep|handoff> EVENT=<file>"; exit 2; }
	@$(GO) run ./infra/invoke -endpoint $(ENDPOINT) -fn $(FN) -event $(EVENT)

test: emulators
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

unit:
	$(GO) test -short -count=1 ./...

# Every Fuzz* function of every package, FUZZTIME each (go test -fuzz takes
# one target at a time).
fuzz:
	@set -e; for pkg in $$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.Dir}}{{end}}' ./...); do \
	  for fn in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$pkg/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do \
	    echo "== $$fn ($$pkg)"; \
	    (cd $$pkg && $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) .); \
	  done; \
	done

# make bench: the Go benchmarks, two load runs against the local stack (a
# server-side integration posting the next step of BENCH_BATCH leads per
# request as fast as it is answered, with 2 minutes to drain the score
# queue's backlog (the local score side scores about 75-180 events/s); a
# tracker posting one step per request
# at BENCH_PACED events/s, under the template's API throttling; each SQS
# event source gets its own 2 environments (infra/load -stack-sqs-concurrency),
# as each event source mapping scales on its own in Lambda), and the
# functions' bootstrap size, cold
# init and 100-message-batch memory; the figures go into docs/benchmarks.md between
# <!-- bench:start --> and <!-- bench:end -->, and the targets, request units
# and cost per million events into docs/performance.md between the same
# markers. BenchmarkSweepScale and BenchmarkSignalsReportScale (100,000 leads
# each, a few minutes) are skipped unless BENCH_SKIP is set to something
# else, e.g. `make bench BENCH_SKIP=NONE`. `make load` is one load run.
BENCH_SKIP   ?= BenchmarkSweepScale|BenchmarkSignalsReportScale
BENCH_EVENTS ?= 5000
BENCH_PACED  ?= 100
BENCH_BATCH  ?= 10
LOAD_FLAGS   ?=
GOBENCH_CMD   = $(GO) test -run '^\$$' -bench . -skip '$(BENCH_SKIP)' -benchmem ./...

bench: emulators
	@mkdir -p build/bench
	$(GO) test -run '^$$' -bench . -skip '$(BENCH_SKIP)' -benchmem ./... > build/bench/gobench.txt 2>&1; \
	  rc=$$?; cat build/bench/gobench.txt; exit $$rc
	$(GO) run ./infra/load -stack -events $(BENCH_EVENTS) -batch $(BENCH_BATCH) -drain 2m -json build/bench/load-max.json
	$(GO) run ./infra/load -stack -events $$(( $(BENCH_PACED) * 15 )) -rate $(BENCH_PACED) -json build/bench/load-paced.json
	$(GO) run ./infra/bench -readme docs/benchmarks.md -perf docs/performance.md -gobench build/bench/gobench.txt \
	  -gobench-cmd "$(GOBENCH_CMD)" \
	  -gobench-note "$(if $(filter BenchmarkSweepScale,$(BENCH_SKIP)),BenchmarkSweepScale (100,000 leads, about 4 minutes) is skipped by default: make bench BENCH_SKIP=NONE runs it.)" \
	  -load 'batches of $(BENCH_BATCH) leads per request, as fast as answered=build/bench/load-max.json' \
	  -load 'one step per request, paced at $(BENCH_PACED) events/s=build/bench/load-paced.json'

load: emulators
	$(GO) run ./infra/load -stack $(LOAD_FLAGS)

# make tradeoff: the score queue's batching against speed to lead and cost.
# TRADEOFF_REPEAT paced load runs (as make bench's) per TRADEOFF_SETTINGS entry
# (BatchSize/WindowSeconds of ScoreQueueEvents; Lambda takes whole seconds,
# and at least 1 s for more than 10 messages), the settings interleaved, each
# with TRADEOFF_SQS environments per SQS event source; then the chart
# docs/perf/tradeoff.svg and the table docs/perf/tradeoff.md from the runs'
# JSON, kept in docs/perf/runs/ so `make tradeoff-chart` redraws them.
TRADEOFF_SETTINGS ?= 100/10 100/2 100/1 20/1 10/0
TRADEOFF_REPEAT   ?= 2
TRADEOFF_SQS      ?= 2
TRADEOFF_RUNS      = $(foreach r,$(shell seq $(TRADEOFF_REPEAT)),$(foreach s,$(TRADEOFF_SETTINGS),docs/perf/runs/score-batch$(subst /,-window,$(s))-run$(r).json))

.PHONY: tradeoff tradeoff-chart
tradeoff: emulators
	@mkdir -p docs/perf/runs
	@set -e; for r in $$(seq $(TRADEOFF_REPEAT)); do for s in $(TRADEOFF_SETTINGS); do \
	  out=docs/perf/runs/score-batch$$(echo $$s | sed 's|/|-window|')-run$$r.json; \
	  echo "== ScoreQueueEvents=$$s, run $$r -> $$out"; \
	  $(GO) run ./infra/load -stack -q -events $$(( $(BENCH_PACED) * 15 )) -rate $(BENCH_PACED) \
	    -stack-sqs-concurrency $(TRADEOFF_SQS) -stack-batching ScoreQueueEvents=$$s -json $$out; \
	done; done
	$(MAKE) tradeoff-chart

tradeoff-chart:
	$(GO) run ./infra/bench -chart docs/perf/tradeoff.svg -chart-table docs/perf/tradeoff.md $(TRADEOFF_RUNS)

# The console (shared/console) in headless Chromium against a fresh local
# stack seeded through the API; needs /usr/bin/chromium.
LEADS ?= 10000
screenshots: emulators
	$(GO) run ./infra/console -screenshots build/screenshots -docs docs
console-figures: emulators
	$(GO) run ./infra/console -figures $(LEADS)

lint:
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); if [ -n "$$out" ]; then echo "gofmt -l:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@test -x "$(STATICCHECK)" || $(GO) install honnef.co/go/tools/cmd/staticcheck@latest
	$(STATICCHECK) ./...

clean:
	rm -rf build .aws-sam
