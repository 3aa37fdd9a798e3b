# Hark: `make run` runs the service, `make test` runs every test tier, `make bench` measures.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-unit test-integration lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@if $(BIN)/hark run --help >/dev/null 2>&1; then $(BIN)/hark run; else \
	  echo "hark run (the embedded service) is not built yet: see README, Status."; \
	  echo "Try the rule engine: $(BIN)/hark rules explain \"Caro crashes on launch\""; \
	  exit 1; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(STAMP) lint
	$(BIN)/python -m pytest tests

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var build *.egg-info .pytest_cache .ruff_cache
