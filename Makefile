# Two commands for a fresh machine: `make run` (install, build the knowledge base, start the app), `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= data
SAMPLE := data/sample

.PHONY: install kb run test test-all eval bench api clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	# CPU build of torch first, so sentence-transformers never pulls a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

kb: install
	$(BIN)/python -m ingest $(SAMPLE) --kb $(DATA)

run: kb
	$(BIN)/streamlit run app.py --server.headless true --browser.gatherUsageStats false

test: install
	$(BIN)/python -m pytest

test-all: install
	$(BIN)/python -m pytest -m "slow or not slow"

eval: kb
	$(BIN)/python -m eval ../shared/eval/dev.jsonl --kb $(DATA) --out results/dev-results.jsonl

bench: install
	$(BIN)/python -m eval.bench

api: kb
	$(BIN)/uvicorn api.server:app --host 127.0.0.1 --port 8000

clean:
	rm -rf $(DATA)/kb
