# Timeline service: developer entry points. `make` (or `make help`) lists them.
# The work is done by scripts/ (services.sh, dev.sh, test.sh); the targets only name it.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# Where `make loadtest` points k6 (the local server by default).
TIMELINE_BASE_URL ?= http://127.0.0.1:3000

.PHONY: help dev test browser-tests faults services services-down services-status token fmt lint loadtest loadtest-suite bench lambda-startup

help: ## List the targets
	@echo "Targets:"
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "} {printf "  make %-16s %s\n", $$1, $$2}'

dev: ## Run locally: DynamoDB Local + Redis, then the API on 127.0.0.1:3000 (Ctrl-C stops)
	@scripts/dev.sh

test: ## fmt check, clippy -D warnings and every test, against real local services
	@scripts/test.sh

browser-tests: ## The web client's browser tests (headless Chromium); SAVE_SHOTS=1 refreshes docs/screenshots/
	@scripts/browser-tests.sh

faults: ## The fault campaign on services of its own (docs/reliability.md); SHORT=1 for the CI-sized one
	cargo build --profile local --bin timeline-local --bin timeline-admin
	scripts/faults/campaign.py --binary target/local/timeline-local $(if $(SHORT),--short)

services: ## Start DynamoDB Local, Redis and the Redis Cluster (those not already running)
	@scripts/services.sh up

services-down: ## Stop the local services that these scripts started
	@scripts/services.sh down

services-status: ## Show which local services answer
	@scripts/services.sh status

token: ## Print a local dev token: make token USER=alice (default: your login name)
	@[[ -n "$(USER)" ]] || { echo "usage: make token USER=alice" >&2; exit 2; }
	@cargo run -q --bin timeline-local -- token "$(USER)"

fmt: ## Format the code
	cargo fmt --all

lint: ## fmt check, clippy and the unused-dependency check, as CI runs them
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	@scripts/unused-deps.sh

loadtest: ## k6 smoke test against TIMELINE_BASE_URL (server with TIMELINE_POST_LIMIT=off)
	@k6="$$(scripts/k6.sh)"; \
	echo "[loadtest] $$k6 run loadtest/smoke.js against $(TIMELINE_BASE_URL)"; \
	"$$k6" run -e BASE_URL="$(TIMELINE_BASE_URL)" loadtest/smoke.js

loadtest-suite: ## The load suite on its own fresh services: seed, k6 scenarios, results and plots (loadtest/README.md)
	@scripts/loadtest-suite.sh

bench: ## Fan-out benchmark against the store's raw write rate (docs/benchmarks.md); FOLLOWERS=10000 RUNS=3
	@scripts/services.sh up --no-cluster
	cargo run --profile perf --bin timeline-bench -- --followers $(or $(FOLLOWERS),10000) --runs $(or $(RUNS),3)

lambda-startup: ## Release Lambda binaries: stripped size and start-up under a fake Runtime API
	cargo build --release --bin timeline-api --bin timeline-fanout
	@ls -l target/release/timeline-api target/release/timeline-fanout
	python3 scripts/lambda-startup.py --event api target/release/timeline-api
	python3 scripts/lambda-startup.py --event fanout target/release/timeline-fanout

# ---------------------------------------------------------------------------------------------
# SAM / AWS targets (build, deploy, validate): owned by the deployment side of the project.
# Add them below, with a `## description` so `make help` lists them, and list them in .PHONY.
# ---------------------------------------------------------------------------------------------

STAGE ?= dev

.PHONY: validate build deploy

validate: ## cfn-lint and sam validate --lint of template.yaml (offline; make test runs it too)
	@scripts/validate-template.sh

build: ## sam build of every function (cargo-lambda, arm64); prints each bootstrap's size
	@scripts/sam-build.sh

deploy: build ## sam deploy to STAGE (dev, staging or prod; see docs/deploy.md), then upload the web client if enabled
	sam deploy --config-env $(STAGE)
	scripts/deploy-web.py --stack "$$(sed -n '/^\[$(STAGE).global.parameters\]/,/^\[/s/^stack_name = "\(.*\)"/\1/p' samconfig.toml)"
