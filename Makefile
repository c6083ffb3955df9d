# inboxq's front door: every target a person or CI needs, each with a help line.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
BIN       := bin/inboxq
GENERATED := db/river internal/store/dbsqlc
RIVER_PGX := github.com/riverqueue/river/riverdriver/riverpgxv5

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: build ## run API, dashboard and workers on the local PostgreSQL
	@url="$${DATABASE_URL:-$$(db/dev-postgres.sh)}"; \
	 DATABASE_URL="$$url" INBOXQ_LOG_FORMAT="$${INBOXQ_LOG_FORMAT:-text}" exec ./$(BIN) serve

.PHONY: build
build: ## build bin/inboxq
	$(GO) build -o $(BIN) ./cmd/inboxq

.PHONY: test
test: verify ## check generated code, then run every test with the race detector
	$(GO) test -race -count=1 ./...

.PHONY: generate
generate: ## regenerate River's schema copy and the sqlc code
	rm -rf db/river && mkdir -p db/river
	cp "$$($(GO) list -m -f '{{.Dir}}' $(RIVER_PGX))"/migration/main/*.up.sql db/river/
	chmod 644 db/river/*.sql
	$(GO) tool sqlc generate

.PHONY: verify
verify: generate ## fail when generated code is stale or go.mod is untidy
	$(GO) mod tidy -diff
	@if ! git diff --quiet -- $(GENERATED) || [ -n "$$(git ls-files --others --exclude-standard -- $(GENERATED))" ]; then \
		echo "generated code is stale; run make generate and commit:"; \
		git status --short -- $(GENERATED); exit 1; fi

.PHONY: lint
lint: ## go vet and staticcheck (pinned in go.mod)
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

.PHONY: bench
bench: ## run the benchmarks (throughput vs raw River, latencies, Gmail) and print their figures
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 30m ./...
