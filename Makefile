# Front door of gwlb-quickstart: bootstraps .venv from requirements.txt, then generates, checks and publishes.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# One stamp per requirements group, so each target installs only what it needs.
STAMP_TEMPLATES := $(VENV)/.installed-templates
STAMP_AWS := $(VENV)/.installed-aws
STAMP_TEST := $(VENV)/.installed-test

.DEFAULT_GOAL := help
.PHONY: help templates routes lab test lint checkov format bench-appliance publish deploy watch \
  preflight smoke delete clean-venv

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 18

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-%: requirements/%.txt requirements/templates.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r $<
	touch $@

$(STAMP_AWS): requirements/aws.txt
$(STAMP_TEST): requirements/test.txt requirements/aws.txt

templates: $(STAMP_TEMPLATES) ## output/<partition>/<architecture>/; with APP_VPCS=n, AZS=n, ARCH=a or APPLIANCE=byo, into build/
ifeq ($(APP_VPCS)$(AZS)$(APPLIANCE)$(ARCH),)
	$(PY) templates.py --partition both --architecture all --output output
else ifneq ($(APPLIANCE),)
	$(PY) templates.py --partition both --architecture all --appliance '$(APPLIANCE)' \
	  --az-count '$(or $(AZS),2)' --output build
else
	$(PY) templates.py --partition both --architecture '$(or $(ARCH),separated-vpc)' \
	  $(call opt,--app-vpcs,$(APP_VPCS)) --az-count '$(or $(AZS),2)' --output build
endif

# The committed sets that offer IpAddressType are traced twice: by default (ipv4) and dualstack.
routes: $(STAMP_TEMPLATES) ## Trace every flow through each set's route tables (SET=dir for one set, any author's; ARGS=--parameter K=V)
	@for set in $(or $(SET),output/*/*/); do echo "== $$set $(ARGS)"; \
	  $(PY) -m verify.routepath $$set $(ARGS) || exit 1; \
	  if [ -z "$(SET)$(ARGS)" ] && grep -q '^  IpAddressType:' $$set/CN-GWLB.yml; then echo "== $$set --parameter IpAddressType=dualstack"; \
	    $(PY) -m verify.routepath $$set --parameter IpAddressType=dualstack || exit 1; fi; done

lab: $(STAMP_TEMPLATES) ## Run a set's data path offline in namespaces, PASS/FAIL table (root; SET=output/aws/single-vpc ARGS=...)
	$(PY) -m lab $(or $(SET),output/aws/single-vpc) $(ARGS)

lint: $(STAMP_TEST) ## ruff, vermin (appliance on Python 3.9) and cfn-lint over output/
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/vermin --no-tips --violations -t=3.9- --eval-annotations appliance
	$(VENV)/bin/cfn-lint -- 'output/**/*.yml'  # regions and rules: .cfnlintrc

test: $(STAMP_TEST) ## Everything CI runs: ruff, vermin, pytest, then the appliance tests on Python 3.9
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/vermin --no-tips --violations -t=3.9- --eval-annotations appliance
	$(PY) -m pytest --ignore=tests/appliance
	# The appliance ships for Python 3.9: its suite runs there, on the shipped bundle. Only the
	# install tests, two of which need the generator's venv, run here as well.
	$(PY) -m pytest tests/appliance/test_appliance_install.py
	$(PY) tests/appliance/run_py39.py

# checkov lives in its own venv; it runs with no network (unshare -n as root) and no downloads.
.venv-checkov/.installed: requirements/checkov.txt
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet --disable-pip-version-check -r $<
	touch $@

checkov: .venv-checkov/.installed ## checkov over output/; fails only on checks not listed in .checkov.yaml
	BC_SKIP_MAPPING=TRUE $(if $(filter 0,$(shell id -u)),unshare -n) \
	  .venv-checkov/bin/checkov --config-file .checkov.yaml

format: $(STAMP_TEST) ## Apply ruff's fixes and formatting
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench-appliance: $(STAMP_TEST) ## Appliance on Python 3.9 as shipped: echo, cached flows, new-flow storm, full parse (root)
	$(PY) -m benchmarks.appliance

# Values reach the shell single-quoted (STACK='x;echo hi' is a stack name, not a command).
q = '$(subst ','\'',$(1))'
# A flag and its quoted value, only when the value is set.
opt = $(if $(2),$(1) $(call q,$(2)))
# operate's own exit code is printed when it fails: make itself can only exit 0 or 2.
# Scripts should call `python -m operate` for 0 done, 1 failed or rolled back, 2 refused, 130
# interrupted.
OPERATE = $(PY) -m operate
REPORT = || { code=$$?; echo "make: operate exited $$code ($$(case $$code in 1) echo failed or rolled back;; 2) echo refused, nothing changed;; 130) echo interrupted;; *) echo error;; esac))" >&2; exit $$code; }
COMMON = --stack $(call q,$(STACK)) $(call opt,--region,$(REGION)) $(call opt,--profile,$(PROFILE))

publish: $(STAMP_AWS) ## Upload a set: make publish BUCKET=b [PREFIX=p] [ARCH=a] [REGION=r] [ARGS=...]
	@test -n "$(BUCKET)" || { echo "error: set BUCKET=<bucket name>"; exit 2; }
	$(PY) publish.py --bucket $(call q,$(BUCKET)) $(call opt,--prefix,$(PREFIX)) \
	  $(call opt,--architecture,$(ARCH)) $(call opt,--region,$(REGION)) $(ARGS)

deploy: $(STAMP_AWS) ## Deploy: make deploy STACK=s KEY=k BASTION_CIDR=c [BUCKET=b | TEMPLATE_URL=u] [ZONES=a,b] [REGION=r] [PROFILE=p] [ARCH=a]
	@test -n "$(STACK)" || { echo "error: set STACK=<stack name>"; exit 2; }
	@$(OPERATE) deploy $(COMMON) $(call opt,--key-pair,$(KEY)) \
	  $(call opt,--bastion-cidr,$(BASTION_CIDR)) $(call opt,--bucket,$(BUCKET)) \
	  $(call opt,--prefix,$(PREFIX)) $(call opt,--template-url,$(TEMPLATE_URL)) \
	  $(call opt,--architecture,$(ARCH)) $(call opt,--availability-zones,$(ZONES)) $(ARGS) $(REPORT)

watch: $(STAMP_AWS) ## Follow a stack's latest operation to its end (after Ctrl-C): make watch STACK=s [REGION=r]
	@test -n "$(STACK)" || { echo "error: set STACK=<stack name>"; exit 2; }
	@$(OPERATE) watch $(COMMON) $(ARGS) $(REPORT)

preflight: $(STAMP_AWS) ## Quotas a set needs vs the account's: make preflight [REGION=r] [ARCH=a] [ZONES=a,b] [PROFILE=p]
	@$(OPERATE) preflight $(call opt,--region,$(REGION)) $(call opt,--profile,$(PROFILE)) \
	  $(call opt,--architecture,$(ARCH)) $(call opt,--availability-zones,$(ZONES)) $(ARGS) $(REPORT)

smoke: $(STAMP_AWS) ## Test a deployed stack through the AWS APIs: make smoke STACK=s [REGION=r] [PROFILE=p] [ARGS=...]
	@test -n "$(STACK)" || { echo "error: set STACK=<stack name>"; exit 2; }
	@$(OPERATE) smoke $(COMMON) $(ARGS) $(REPORT)

delete: $(STAMP_AWS) ## Delete a stack, report what stayed and why: make delete STACK=s [REGION=r] [PROFILE=p]
	@test -n "$(STACK)" || { echo "error: set STACK=<stack name>"; exit 2; }
	@$(OPERATE) delete $(COMMON) $(ARGS) $(REPORT)

clean-venv: ## Remove .venv and .venv-checkov
	rm -rf $(VENV) .venv-checkov
