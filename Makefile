# m365-inline: every entry point an operator or CI uses. Each target does its own set-up.
SHELL := /bin/bash
VENV := .venv
export SAM_CLI_TELEMETRY := 0

.PHONY: test build demo bench local-up local-down venv browser

## test: every check (fmt, clippy, tests against moto and in headless Chromium, cfn-lint, sam validate, the release build); CI runs this, then make demo
test: venv browser
	scripts/with-moto.sh scripts/check.sh

## build: the deployable artifacts, target/lambda/<function>/bootstrap.zip (release, cargo-lambda)
build: venv
	scripts/build.sh

## demo: the whole lifecycle of a few simulated tenants, locally, with a summary
demo: venv
	scripts/demo.sh

## bench: speed, memory and calls per tenant against the budgets of docs/design.md; writes BENCHMARKS.md, bench/results.json
bench: venv
	scripts/with-moto.sh scripts/bench.sh

## local-up: moto (+ m365-sim) on free loopback ports, resources from the template, .env.local
local-up: venv
	scripts/local.sh up

## local-down: stop exactly what local-up started
local-down:
	scripts/local.sh down

## browser: Debian's headless Chromium and its chromedriver, for the web pages' tests
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		echo "==> installing chromium and chromium-driver (the web pages' browser tests)"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

## venv: Python tools (moto, cfn-lint, cargo-lambda, SAM CLI) pinned in requirements-dev.txt; checkov in requirements-checkov.txt
venv: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt requirements-checkov.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	python3 -m venv $(VENV)-checkov
	$(VENV)-checkov/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@
