# make run   - create the venv, install, index content/, serve http://127.0.0.1:5000, reindex saved files
# make test  - create the venv, install, run the whole test suite (what CI runs)
# make test-fast - everything except the tests marked slow (real data sets, kill tests, browser, load,
#                  any test over a second), on two cores: under a minute
# make bench - retrieval quality on CISI against BM25, then reindex/query/web at 10k-100k items against
#              SQLite FTS5, then Whoosh, a 3-node Typesense cluster and FTS5 side by side at 10k and 100k
#              (needs wrk: apt-get install wrk; takes about an hour)
PYTHON ?= python3
BENCH_SIZES ?= 10000,50000,100000
CLUSTER_BENCH_SIZES ?= 10000 100000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

AXE_VERSION := 4.14.1
AXE := .cache/axe/axe.min.js

.PHONY: run test test-fast bench bench-quick eval wrk clean axe translations cluster cluster-stop

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench,semantic,typesense]'
	touch $(STAMP)

# exit 1 from the reindex: some files failed (listed), the others were indexed: serve them anyway
run: $(STAMP)
	$(BIN)/kb reindex || [ $$? -eq 1 ]
	$(BIN)/kb serve --host 127.0.0.1 --port 5000 --watch

# Two cores: every test but those marked serial runs on both (a file's tests on one worker, so a
# module's fixture is built once); then the serial ones, alone. Each part lists its slowest tests.
test: $(STAMP) axe
	$(BIN)/python -m pytest -m "not serial" -n 2 --dist loadfile --durations=12
	$(BIN)/python -m pytest -m serial --durations=6

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -n 2

bench: $(STAMP) wrk
	$(BIN)/python bench/eval.py --keep bench/results/eval
	$(BIN)/python bench/bench_scale.py --sizes $(BENCH_SIZES)
	for size in $(CLUSTER_BENCH_SIZES); do $(BIN)/python bench/bench_typesense.py --size $$size || exit 1; done

bench-quick: $(STAMP) wrk
	$(BIN)/python bench/eval_cisi.py
	$(BIN)/python bench/bench_scale.py --sizes 10000 --seconds 10
	$(BIN)/python bench/bench_typesense.py --size 10000 --seconds 10

# axe-core (npm) for the accessibility tests, fetched once from the registry; without npm they are skipped.
axe: $(AXE)
$(AXE):
	@if command -v npm >/dev/null; then \
	  mkdir -p .cache/axe && cd .cache/axe && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null && \
	  tar xzf axe-core-$(AXE_VERSION).tgz package/axe.min.js package/LICENSE && \
	  mv package/axe.min.js package/LICENSE . && rmdir package && rm axe-core-$(AXE_VERSION).tgz; \
	else echo "npm is not installed: the accessibility tests will be skipped"; fi

wrk:
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)

# A 3-node Typesense cluster on loopback for development (KB_BACKEND=typesense); prints the environment to use.
cluster: $(STAMP)
	$(BIN)/python -m indexer.typesense.cluster start --dir .typesense --nodes 3

cluster-stop:
	$(BIN)/python -m indexer.typesense.cluster stop --dir .typesense

# After changing a message of the interface: extract them all, update every catalogue, compile them.
# New or changed messages come out untranslated; tests/test_i18n.py fails until each catalogue has them.
translations: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k Note -k plural_note:1,2 -c Translators: --add-location=file \
	  --sort-by-file \
	  --project kb --copyright-holder "kb" -o webui/messages.pot .
	$(BIN)/pybabel -q update -i webui/messages.pot -d webui/translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel -q compile -d webui/translations

eval: $(STAMP)
	$(BIN)/python bench/eval.py --keep bench/results/eval
	$(BIN)/python bench/eval_typesense.py

clean:
	rm -rf $(VENV) .kb-index .typesense *.egg-info
