# hr-saas-infra — every target is a one-line alias of the `hrsaas` command (make setup installs
# it into .venv; `hrsaas --help` lists the same commands). `make help` lists every target.
ENV ?= local
HRSAAS := .venv/bin/hrsaas
MAKEFLAGS += --no-print-directory

.PHONY: help setup synth scan test test-fast deploy destroy plan plan-summary cost outputs \
        bench lint emulator-start emulator-stop emulator-status clean

help: ## list every target with its purpose
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: ## install everything: terraform config, .venv + hrsaas, checkov, cdktf CLI (idempotent)
	@bash scripts/setup.sh

synth: setup ## synthesize every environment into cdktf.out/stacks/<env>-<layer>/
	@$(HRSAAS) synth

scan: synth ## the security gate: checkov, the AWS rule pack, terraform validate (and saved plans); VERBOSE=1 lists suppressed
	@$(HRSAAS) scan $(if $(VERBOSE),--verbose)

test: setup ## the full suite, including the real apply on the local emulator
	@.venv/bin/python -m pytest

test-fast: setup ## the unit tier: config, synthesized JSON, rules, renderers (no emulator)
	@.venv/bin/python -m pytest -m "not emulator"

deploy: setup ## apply ENV (default local; real envs need CONFIRM=<env>) in dependency order
	@$(HRSAAS) deploy --env $(ENV) $(if $(CONFIRM),--confirm $(CONFIRM))

destroy: setup ## destroy ENV's stacks in reverse dependency order
	@$(HRSAAS) destroy --env $(ENV) $(if $(CONFIRM),--confirm $(CONFIRM))

plan: setup ## plan every stack of ENV into plans/<env>/ (also before upstream layers exist)
	@$(HRSAAS) plan --env $(ENV)

plan-summary: setup ## render plans/ into one pull-request comment, reports/plan-summary.md
	@$(HRSAAS) summary plans --scan reports/plans/scan_summary.json --out reports/plan-summary.md

cost: synth ## monthly cost estimate of ENV (FORMAT=text|markdown|json; LEVERS=1: the priced design levers)
	@$(HRSAAS) cost --env $(ENV) $(if $(FORMAT),--format $(FORMAT)) $(if $(LEVERS),--levers)

outputs: setup ## print ENV's applied outputs
	@$(HRSAAS) outputs --env $(ENV) --no-synth

bench: setup ## benchmarks: start-up, synth, scan, round trip (figures in docs/performance.md)
	@$(HRSAAS) bench

lint: setup ## ruff and actionlint
	@.venv/bin/ruff check .
	@.venv/bin/actionlint

emulator-start: setup ## start the local emulator (moto + the project's extensions) on 127.0.0.1:4566
	@$(HRSAAS) emulator start

emulator-stop: setup ## stop the local emulator
	@$(HRSAAS) emulator stop

emulator-status: setup ## say whether the local emulator answers
	@$(HRSAAS) emulator status

clean: ## remove synthesized stacks, plans, reports and local state (.state holds bootstrap state!)
	rm -rf cdktf.out plans reports .state
