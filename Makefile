# Shipway: `make run` starts the product on its embedded default, `make test` runs every check.
# Both set up everything themselves on a fresh machine: Debian packages, .venv, the package.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the tests and the sandbox use: a real registry, htpasswd, openssl, skopeo, kubectl, and
# chromium for the console's browser tests (driven by Playwright; no browser is ever downloaded).
DEB_TOOLS := docker-registry:docker-registry htpasswd:apache2-utils openssl:openssl skopeo:skopeo kubectl:kubernetes-client chromium:chromium

.PHONY: run test lint typecheck bench setup clean debian-packages

setup: $(STAMP) debian-packages

# Checked on every run (it is only `command -v`), installed with apt-get only when missing.
debian-packages:
	@missing=""; for pair in $(DEB_TOOLS); do \
	  cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# Two distributions: the product (shipway, .) and the sandbox (shipway-sandbox, ./sandbox: the emulator, a real
# registry, `shipway sandbox`), which the tests and `make run` need and the product never imports.
$(STAMP): pyproject.toml sandbox/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]' -e ./sandbox
	@touch $@

run: setup
	$(BIN)/shipway sandbox up

lint: setup
	$(BIN)/ruff check src sandbox/src tests benchmarks
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

test: setup lint typecheck
	$(BIN)/python -m pytest -q

# The operator benchmark at its reference size (benchmarks/README.md; under 20 minutes on 2 cores). It needs the
# `bench` extra (matplotlib for benchmarks/results/scaling.png), installed here once per pyproject.toml change.
bench: setup
	@[ $(VENV)/.bench-installed -nt pyproject.toml ] && [ $(VENV)/.bench-installed -nt sandbox/pyproject.toml ] || { \
	  $(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test,bench]' -e ./sandbox && touch $(VENV)/.bench-installed; }
	$(BIN)/python -m benchmarks.operator --pipelines 500 --unrelated-secrets 2000 --unrelated-service-accounts 5000 \
	  --idle-seconds 80 --scaling 100,1000

clean:
	rm -rf $(VENV) .shipway .pytest_cache .mypy_cache .ruff_cache
