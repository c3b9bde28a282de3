# Two commands for a newcomer: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXAMPLE := data/example/students.csv

.PHONY: setup browser run test lint bench bench-real api app lab clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "uv>=0.4,<1"
	$(PY) -m uv pip install --quiet --compile-bytecode --python $(PY) -e ".[test]"
	$(PY) -m compileall -q studyrec_lib
	mkdir -p runs && chmod -R go-rwx runs  # run folders hold students' marks; git checks the folder out 0755
	touch $(STAMP)

setup: $(STAMP)

browser:
	sh scripts/ensure_chromium.sh

$(EXAMPLE): | $(STAMP)
	$(PY) scripts/generate_example_dataset.py --students 120 --open-semesters 1 --output $(EXAMPLE)

run: $(STAMP) $(EXAMPLE)
	$(VENV)/bin/studyrec pipeline $(EXAMPLE)

test: $(STAMP) browser
	$(VENV)/bin/ruff check studyrec_lib tests scripts benchmarks
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check studyrec_lib tests scripts benchmarks
	$(VENV)/bin/lint-imports

bench: $(STAMP) browser
	$(PY) benchmarks/bench_cli_start.py
	$(PY) benchmarks/bench_ingest.py
	$(PY) benchmarks/bench_train.py --pipeline --million
	$(PY) benchmarks/bench_predict.py
	$(PY) benchmarks/bench_prediction_log.py
	$(PY) benchmarks/bench_app.py
	$(PY) benchmarks/bench_monitor.py
	$(PY) benchmarks/real_uci.py --data ../shared/data/real/uci-student-por.csv --repeats 2

bench-real: $(STAMP)
	$(PY) benchmarks/real_uci.py --data ../shared/data/real/uci-student-por.csv

api: $(STAMP)
	$(VENV)/bin/studyrec serve --host 127.0.0.1 --port 8000

app: $(STAMP)
	$(VENV)/bin/studyrec app --host 127.0.0.1 --port 8866

# JupyterLab is not started by `studyrec`: give it (and so its kernels) the configured umask here.
lab: $(STAMP)
	$(PY) -m uv pip install --quiet --python $(PY) "jupyterlab>=4.2,<5"
	mask=$$($(PY) -c 'from studyrec_lib.config import configured_umask; print(f"{configured_umask():03o}")') && \
	umask "$$mask" && \
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --no-browser --ServerApp.root_dir=. $$(test "$$(id -u)" = 0 && echo --allow-root)

clean:
	rm -rf $(VENV) runs/*/ warehouse.duckdb warehouse.duckdb.wal
