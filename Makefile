# wotr-tui: the operations console of the WOTR platform, and the platform itself.
GO        ?= go
BIN       := bin
PKGS      := ./...
TEST_TIMEOUT ?= 25m
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build install install-test man test unit fuzz chaos demo deps controlplane bench bench-10x lint fmt clean

all: build

# The version, commit and build date every binary prints (version, --version).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
VERSION_PKG := github.com/wotr/wotr-tui/cmd/internal/version
LDFLAGS := -X $(VERSION_PKG).version=$(VERSION) -X $(VERSION_PKG).commit=$(COMMIT) -X $(VERSION_PKG).date=$(DATE)

## build: compile wotr-tui, wotr-api and wotr-consumer into ./bin
build:
	@mkdir -p $(BIN)
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

## install: the three binaries into $(PREFIX)/bin when PREFIX is set, else GOBIN
## (default $(go env GOPATH)/bin); man pages into $(PREFIX)/share/man/man1 too
PREFIX ?=
MANDIR ?= man
install:
	$(if $(PREFIX),GOBIN=$(abspath $(PREFIX))/bin) $(GO) install -ldflags '$(LDFLAGS)' ./cmd/...
	$(if $(PREFIX),$(MAKE) man MANDIR=$(abspath $(PREFIX))/share/man/man1)

## install-test: a real `go install .../cmd/wotr-tui@latest` into a clean module
## cache, this module served from a local file:// proxy (minutes; not in make test)
install-test:
	WOTR_TEST_GO_INSTALL=1 $(GO) test -count=1 -timeout 20m -run '^TestGoInstallLatestFromACleanModuleCache$$' -v ./cmd/internal/version/

## man: man pages of every wotr-tui command into $(MANDIR)
man:
	$(GO) run -ldflags '$(LDFLAGS)' ./cmd/wotr-tui man --dir $(MANDIR)

## deps: install the Debian packages of the local platform (apt-get)
deps:
	@./platform/local/install-deps.sh

## controlplane: build etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok into the XDG cache
controlplane:
	@./testdata/controlplane/build.sh

## test: every test, integration included (installs and builds what it needs first)
test: deps controlplane build
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) -p 2 $(PKGS)
	$(MAKE) fuzz

## fuzz: every Fuzz target in the repository for $(FUZZTIME) each (go test
## fuzzes one target of one package at a time)
# A count, not a duration: Go 1.26's fuzz coordinator can fail a target with
# "context deadline exceeded" when a duration ends under CPU contention
# (go.dev/issue/75804); a count has no deadline.
FUZZTIME ?= 30000x
fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
		pkg=./$$(dirname $${f#./}); \
		for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "fuzz $$pkg $$name"; \
			$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

## unit: tests that need no local platform
unit:
	WOTR_SKIP_INTEGRATION=1 $(GO) test -count=1 -short $(PKGS)

## chaos: every fault of platform/chaos (plain go test runs a short set); the
## fault table goes to $(CHAOS_REPORT)
CHAOS_REPORT ?= chaos-report.md
chaos: deps build
	WOTR_CHAOS=full WOTR_CHAOS_REPORT=$(abspath $(CHAOS_REPORT)) WOTR_REQUIRE_INTEGRATION=1 $(GO) test -count=1 -v -timeout 30m -run TestFaults ./platform/chaos/

## demo: boot the local platform and open the console on it
demo: deps controlplane build
	./$(BIN)/wotr-tui demo

## bench: Go benchmarks (ratios against baselines measured in the same run), then
## the local platform's cold start and three warm restarts (BenchmarkStartAll)
bench: deps controlplane build
	$(GO) test -run '^$$' -skip '^BenchmarkStartAll$$' -bench . -benchmem -count=1 -timeout 30m $(PKGS)
	$(GO) test -run '^$$' -bench '^BenchmarkStartAll$$' -benchtime 3x -count=1 -timeout 30m ./platform/local/

## bench-10x: the scale benchmarks with their 10x sizes (5,000 pods on 250 kwok
## nodes, 100,000 Kafka partitions; tens of minutes), 60 s idle windows
bench-10x: deps controlplane build
	WOTR_BENCH_10X=1 WOTR_BENCH_KUBE_WINDOW=60s $(GO) test -run '^$$' -bench 'KubeScale|ReadKafkaAtSize|Collect10x|CollectorMemory10x|LagApply|Rows|ViewEveryArea|FilterKeystroke|SetFilter' -benchmem -count=1 -timeout 60m ./backends/kube/ ./backends/readtest/ ./ops/collect/ ./ui/ ./ui/components/table/

## lint: gofmt, go mod tidy (direct dependencies are not marked indirect), go vet, staticcheck
lint:
	$(GO) mod tidy -diff
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN) man
