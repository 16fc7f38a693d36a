# CAMS deploy. `make up` deploys a local environment with the real playbooks; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
export ANSIBLE_ROLES_PATH := $(abspath roles)
CAMS_LOCAL_HTTPS_PORT ?= 8443
export CAMS_LOCAL_HTTPS_PORT
# The environment a target acts on (dev, staging, prod): never a default, so that none is acted on by mistake.
ENV ?=
require_env = $(if $(ENV),,$(error $@ needs ENV=dev|staging|prod, e.g. make $@ ENV=staging))

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

.PHONY: setup
setup: ## Set up this machine as a control node (apt packages, venv, docker engine, base image)
	scripts/bootstrap.sh

.PHONY: up
up: setup ## Start the local VM, deploy it with site.yml over SSH, print its URL and /health/
	scripts/local-vm.sh up
	@scripts/new-vault.sh local
	$(BIN)/ansible-playbook -i inventories/local site.yml
	@scripts/print-local-url.sh

.PHONY: deploy-local
deploy-local: ## Code-only deploy of this working tree to the local VM
	$(BIN)/ansible-playbook -i inventories/local playbooks/deploy.yml
	@scripts/print-local-url.sh

.PHONY: rollback-local
rollback-local: ## Roll the local VM back to its previous good release
	$(BIN)/ansible-playbook -i inventories/local playbooks/rollback.yml
	@scripts/print-local-url.sh

.PHONY: down
down: ## Remove the local VM
	scripts/local-vm.sh down

.PHONY: compose-up
compose-up: ## Dev stack for coding on the app (runserver + PostgreSQL, docker-compose) on 127.0.0.1:18000
	scripts/compose.sh up -d --build
	@echo "CAMS dev stack: http://127.0.0.1:$${CAMS_COMPOSE_APP_PORT:-18000}/health/  (docs/local-development.md)"

.PHONY: compose-down
compose-down: ## Stop the dev stack, keeping its database (scripts/compose.sh down -v deletes it)
	scripts/compose.sh down

.PHONY: deploy
deploy: ## Code-only deploy of ENV (dev|staging|prod) from its branch tip
	$(require_env)
	$(BIN)/ansible-playbook -i inventories/$(ENV) playbooks/deploy.yml

.PHONY: status
status: ## Where ENV stands, host by host (exit 1 if unhealthy); no ENV: all three and their branches [ARGS=--json]
	$(BIN)/python -m ops status $(ENV) $(ARGS)

.PHONY: logs
logs: ## Journals of ENV's hosts, by time [ARGS="--service app --since '10 min ago' --follow"]
	$(require_env)
	$(BIN)/python -m ops logs $(ENV) $(ARGS)

.PHONY: lock
lock: ## ENV's deploy lock for planned work: ARGS='acquire -m "why"', ARGS=release, ARGS=status
	$(require_env)
	$(BIN)/python -m ops lock $(ENV) $(or $(ARGS),status)

.PHONY: bootstrap
bootstrap: ## Bare VMs -> running ENV (dev|staging|prod): its branch on origin, site.yml, /health/ [ARGS=--connect-to ADDRESS]
	$(require_env)
	$(BIN)/python -m ops bootstrap $(ENV) $(ARGS)

.PHONY: promote
promote: ## Fast-forward TO to FROM's tested tip (FROM=develop TO=staging, FROM=staging TO=main); shows it, ARGS=--yes pushes
	$(BIN)/python -m ops promote $(FROM) $(TO) $(ARGS)

.PHONY: test
test: setup test-app test-tools lint test-molecule ## Every test: app, frontend, tools, lint, Molecule scenarios

.PHONY: test-app
test-app: ## Django tests (own PostgreSQL), frontend unit tests and production build
	cd app && ../$(BIN)/python -m pytest
	cd app/frontend && npm ci --no-audit --no-fund --loglevel=error && npm test && npm run build

.PHONY: test-tools
test-tools: ## Tests of the deploy tooling (cams-release, the operator's commands, CI's deploy script) and the container images (docker compose, dev and prod profiles)
	$(BIN)/python -m pytest tests

.PHONY: lint
lint: ## yamllint, ansible-lint (production profile), role READMEs current with their argument specs; the monitoring configuration (promtool, amtool) and the alert rules' unit tests; zizmor and actionlint on the GitHub workflows
	$(BIN)/yamllint .
	$(BIN)/ansible-lint --offline
	$(BIN)/python scripts/role-docs.py --check
	$(BIN)/ansible-playbook -i roles/cams_monitoring/tests/inventory.yml roles/cams_monitoring/tests/example.yml
	.local/tools/promtool check config .local/monitoring-example/prometheus.yml
	.local/tools/promtool test rules roles/cams_monitoring/tests/rules/*.yml
	.local/tools/amtool check-config .local/monitoring-example/alertmanager.yml
	$(BIN)/zizmor --offline --quiet .
	node scripts/lint/actionlint.mjs

.PHONY: test-molecule
# default on Debian 13 leaves out syntax and --check, which do not depend on the host's release.
test-molecule: ## Molecule: dev host from site.yml on Debian 12 and 13, then prod (its real inventory on a load balancer, two app hosts, database, backup and monitoring hosts; balancer, one app host and monitoring on Debian 13)
	scripts/molecule-test.sh default
	CAMS_BASE_IMAGE=cams/debian-systemd:trixie scripts/molecule-test.sh default create converge idempotence verify
	scripts/molecule-test.sh prod

.PHONY: bench
bench: setup ## Converge, re-run and deploy timings, failed requests during deploys, requests/s and latency: docs/benchmarks.md
	$(BIN)/python bench/lifecycle.py
