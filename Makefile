# Two commands for a fresh machine: `make run` (install, build the knowledge base, start the app), `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= data
SAMPLE := data/sample

.PHONY: install office-tools kb run test test-all eval bench api clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	# CPU build of torch first, so sentence-transformers never pulls a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed office-tools

# LibreOffice reads .doc/.wps/.rtf/.odt (and makes .xls test files), poppler renders PDF pages, a Chinese font
# lets LibreOffice draw Chinese. Best effort: without root or apt, those formats say what to install.
OFFICE_PACKAGES := libreoffice-writer-nogui libreoffice-calc-nogui poppler-utils fonts-wqy-zenhei
office-tools:
	@if command -v soffice >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(export DEBIAN_FRONTEND=noninteractive; timeout 600 apt-get update -qq && \
		 timeout 900 apt-get install -y -qq $(OFFICE_PACKAGES)) >/dev/null 2>&1 \
		|| echo "LibreOffice 未能安装：.doc/.wps/.rtf/.odt 暂不可读（测试会跳过）" >&2; \
	else echo "提示：安装 $(OFFICE_PACKAGES) 后可读取 .doc/.wps/.rtf/.odt" >&2; fi

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
