# Écluse build and test entry points. `make test` is the one command that runs every
# check and test; .ci/run calls exactly it.

GOLANGCI_LINT_VERSION := v2.15.0
GOBIN ?= $(shell go env GOPATH)/bin
GOLANGCI_LINT := $(GOBIN)/golangci-lint
VEGETA_VERSION := v12.13.0
# vegeta drives bench-compare's load; it is installed pinned into a cache directory, not go.mod.
VEGETA := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/ecluse-tools/go/vegeta-$(VEGETA_VERSION)/vegeta

.PHONY: all build test unit e2e lint fmt-check tidy-check fuzz release release-check bench bench-compare soak dev tools

all: build

build:
	go build -o bin/ecluse ./cmd/ecluse

# The release artifacts in dist/: the static binary, the OCI image (layout and archive),
# the CycloneDX SBOM and their checksums, byte for byte the same for the same commit.
# See "Releases" in the README.
release:
	bash scripts/release.sh

# Two release builds from clean clones must be identical; the image is read back
# through crane and the SBOM checked against the module graph.
release-check:
	bash scripts/release-check.sh

# Every check and every test: formatting, go.mod tidiness, vet, lint, unit tests with the
# race detector, a short run of every fuzz target, then the end-to-end suite (real npm,
# pnpm, yarn and Verdaccio).
test: fmt-check tidy-check lint unit fuzz e2e release-check

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

tidy-check:
	go mod tidy -diff
	cd tools/release && go mod tidy -diff

lint: $(GOLANGCI_LINT)
	go vet ./...
	$(GOLANGCI_LINT) run ./...
	cd tools/release && go vet ./... && $(GOLANGCI_LINT) run ./...

$(GOLANGCI_LINT):
	go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

unit:
	go test -race -count=1 -timeout 20m $$(go list ./... | grep -v /e2e)
	cd tools/release && go test -count=1 ./...

e2e:
	go test -count=1 -timeout 40m ./e2e/

# Every native fuzz target for FUZZTIME each (scripts/fuzz.sh finds them); their seed
# corpora also run in `unit`. `make fuzz FUZZTIME=1m` for a longer pass by hand.
FUZZTIME ?= 2s
fuzz:
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

# Benchmarks: see docs/performance.md for the method and the figures.
bench:
	go test -run '^$$' -bench . -benchmem -count 5 ./internal/npm/ ./internal/policy/
	go test -run '^$$' -bench ReadPath -benchtime 40x -count 5 ./internal/gate/
	go test -run '^$$' -bench AdvisoryDecisions -benchtime 100x -count 5 ./internal/gate/
	go test -run '^$$' -bench 'BuildNPMExport|Lookup' -benchtime 2x ./internal/advisory/
	go test -run '^$$' -bench TelemetryCollectorDown -benchtime 60x -count 5 ./internal/app/
	go test -run '^$$' -bench Signing -benchtime 10x -count 3 ./internal/gate/
	go test -run '^$$' -bench 'PageDecide' -benchtime 20x -count 3 ./internal/pypigate/
	go test -run '^$$' -bench . -benchmem -count 3 ./internal/pypi/
	go test -run '^$$' -bench LargeTarballRSS -benchtime 1x ./e2e/

# Écluse side by side with Verdaccio and a floor server, in one run of about 7 minutes:
# see "Side by side" in docs/performance.md.
bench-compare: $(VEGETA)
	VEGETA=$(VEGETA) go test -run '^$$' -bench Compare -benchtime 1x -timeout 60m ./e2e/

$(VEGETA):
	GOBIN=$(dir $(VEGETA)) go install github.com/tsenart/vegeta/v12@$(VEGETA_VERSION)

# Opt-in soak test: the whole request path under random upstream faults for SOAK
# (a duration, default 3m). ECLUSE_SOAK_SEED=<n> replays a logged run.
SOAK ?= 3m
soak:
	ECLUSE_SOAK=$(SOAK) go test -race -count=1 -timeout 60m -run '^TestSoak$$' -v ./internal/app/

# Run Écluse locally in front of a real Verdaccio (see README).
dev:
	bash scripts/dev.sh
