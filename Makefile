# Samby: everyday commands. Each target is a thin wrapper around a script in
# infra/, which does the real work and can be run on its own.
#
#   make test ARGS="-k rides -x"    pass options to pytest (test, bench)

SHELL := /bin/bash
.DEFAULT_GOAL := help
ARGS ?=

.PHONY: help setup run test lint audit bench migrate stop clean

help: ## List the targets
	@printf 'Usage: make <target>\n\n'
	@awk 'BEGIN { FS = ":.*## " } /^[a-z]+:.*## / { printf "  %-8s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

setup: ## Install system packages and .venv; find or start PostgreSQL/PostGIS and Redis
	@infra/bootstrap.sh

run: ## Migrate, load demo data, start web + worker + beat (Ctrl-C stops)
	@infra/run.sh

test: ## Lint, then run the tests; pytest options in ARGS="..."
	@infra/test.sh $(ARGS)

lint: ## ruff check, ruff format --check, lint-imports
	@infra/lint.sh

audit: ## Dependency audit of requirements.lock (pip-audit; warns when offline)
	@infra/audit.sh

bench: ## Run the performance benchmarks (tests/perf); pytest options in ARGS="..."
	@infra/bench.sh $(ARGS)

migrate: ## Apply database migrations
	@infra/manage.sh migrate --noinput

stop: ## Stop the private PostgreSQL and Redis under var/ (if running)
	@infra/stop-private-services.sh

clean: stop ## Stop private services, then remove .venv and var/
	rm -rf .venv var samby.egg-info
