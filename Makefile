# make run   - create the venv, install, index content/, serve http://127.0.0.1:5000
# make test  - create the venv, install, run the test suite
# make bench - retrieval quality on ../shared/data/cisi against a BM25 reference
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench eval clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kb reindex
	$(BIN)/kb serve --host 127.0.0.1 --port 5000

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/eval_cisi.py

eval: bench

clean:
	rm -rf $(VENV) .kb-index *.egg-info
