# Two commands on a fresh machine:  `make run`  and  `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
INDEX ?= news

.PHONY: setup run chat test test-fast fuzz bench bench-api bench-web lint clean help

help:
	@echo "make run    set up, build the '$(INDEX)' index if needed, serve the web page and HTTP API on $(HOST):$(PORT)"
	@echo "make chat   the same set-up, then the terminal chat instead"
	@echo "make test   set up, then run the test suite"
	@echo "make setup  create .venv, install everything incl. bundled models (idempotent)"
	@echo "make fuzz   the long fuzz run: Schemathesis against a real rag serve (FUZZ_EXAMPLES, FUZZ_MAX_TIME, FUZZ_SEED)"
	@echo "make bench  run the benchmarks, print one JSON object (docs/benchmarks.md)"
	@echo "make bench-api  HTTP throughput at concurrency 1/8/32 and streaming overhead"
	@echo "make bench-web  web page: Enter to first streamed word vs the API's, page size"
	@echo "make lint   ruff"

$(STAMP): pyproject.toml requirements-models.txt requirements-data.txt scripts/install.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	PYTHON=$(BIN)/python scripts/install.sh
	touch $(STAMP)

setup: $(STAMP)
	$(BIN)/rag models prepare --quiet

HOST ?= 127.0.0.1
PORT ?= 8000

run: setup
	$(BIN)/rag ingest --index $(INDEX)
	$(BIN)/rag serve --host $(HOST) --port $(PORT)

chat: setup
	$(BIN)/rag ingest --index $(INDEX)
	$(BIN)/rag chat --index $(INDEX)

# Test tiers (pyproject.toml markers): unit (no mark: no server, subprocess or model load),
# e2e (servers, subprocesses), llm (loads a GGUF), browser, postgres, slow.
UNIT := not e2e and not llm and not browser and not postgres and not slow

test: setup
	$(BIN)/lint-imports --no-cache
	$(BIN)/rag ingest --index $(INDEX) --quiet
	$(BIN)/rag eval run --index $(INDEX) --generator extractive --judge lexical --gate --quiet --out eval/reports/ci
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q -m "$(UNIT)"

# The long fuzz run (tests/test_fuzz.py; `make test` runs a bounded one): a fresh seed,
# 200 examples per operation, up to 20 minutes. The seed is printed to reproduce a find.
FUZZ_EXAMPLES ?= 200
FUZZ_MAX_TIME ?= 1200
fuzz: setup
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_MAX_TIME=$(FUZZ_MAX_TIME) $(BIN)/python -m pytest -q -s tests/test_fuzz.py

bench: setup
	$(BIN)/python -m bench.run --out bench/results/latest.json

bench-api: setup
	$(BIN)/python -m bench.api --out bench/results/api.json

bench-web: setup
	$(BIN)/python -m bench.web --out bench/results/web.json

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) models indexes/*/store .pytest_cache
