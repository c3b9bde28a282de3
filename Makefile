# Two commands for a newcomer: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXAMPLE := data/example/students.csv
PROXY := node_modules/.package-lock.json
HUB_PORT ?= $(if $(STUDYREC_HUB_PORT),$(STUDYREC_HUB_PORT),8080)
# Test files run in parallel (pytest-xdist; one file stays on one worker, so its module fixtures are built once):
# much of the suite waits on kernels, servers and the browser, and a serial run left one of 2 cores idle.
TEST_WORKERS ?= 2

.PHONY: setup browser run test lint bench bench-real api app lab hub clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "uv>=0.4,<1"
	$(PY) -m uv pip install --quiet --compile-bytecode --python $(PY) -e ".[test,hub]"
	$(PY) -m compileall -q studyrec_lib
	mkdir -p runs && chmod -R go-rwx runs  # run folders hold students' marks; git checks the folder out 0755
	touch $(STAMP)

setup: $(STAMP) $(PROXY)

# JupyterHub's proxy, pinned in package.json/package-lock.json (npm ci writes $(PROXY) last)
$(PROXY): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

browser:
	sh scripts/ensure_chromium.sh

$(EXAMPLE): | $(STAMP)
	$(PY) scripts/generate_example_dataset.py --students 120 --open-semesters 1 --output $(EXAMPLE)

run: $(STAMP) $(EXAMPLE)
	$(VENV)/bin/studyrec pipeline $(EXAMPLE)

test: $(STAMP) $(PROXY) browser
	$(VENV)/bin/ruff check studyrec_lib tests scripts benchmarks deploy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: $(STAMP)
	$(VENV)/bin/ruff check studyrec_lib tests scripts benchmarks deploy
	$(VENV)/bin/lint-imports

bench: $(STAMP) browser
	$(PY) benchmarks/bench_cli_start.py
	$(PY) benchmarks/bench_ingest.py
	$(PY) benchmarks/bench_train.py --pipeline --million
	$(PY) benchmarks/bench_predict.py
	$(PY) benchmarks/bench_prediction_log.py
	$(PY) benchmarks/bench_app.py
	$(PY) benchmarks/bench_hub.py
	$(PY) benchmarks/bench_console.py
	$(PY) benchmarks/bench_monitor.py
	$(PY) benchmarks/real_uci.py --data data/real/uci-student-por.csv --repeats 2
	$(PY) benchmarks/bench_small_cohorts.py --data data/real/uci-student-por.csv

bench-real: $(STAMP)
	$(PY) benchmarks/real_uci.py --data data/real/uci-student-por.csv

api: $(STAMP)
	$(VENV)/bin/studyrec serve --host 127.0.0.1 --port 8000

app: $(STAMP)
	$(VENV)/bin/studyrec app --host 127.0.0.1 --port 8866

# JupyterLab is not started by `studyrec`: give it (and so its kernels) the configured umask here.
lab: $(STAMP)
	mask=$$($(PY) -c 'from studyrec_lib.core.config import configured_umask; print(f"{configured_umask():03o}")') && \
	umask "$$mask" && \
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --no-browser --ServerApp.root_dir=. $$(test "$$(id -u)" = 0 && echo --allow-root)

# The front door: JupyterHub with deploy/jupyterhub_config.py (README: Sign-in). Its state (accounts, groups,
# cookie secret) stays in $$STUDYREC_HUB_STATE, default hub-state/; the config applies the umask itself.
hub: $(STAMP) $(PROXY)
	@echo "StudyRec hub: http://$${STUDYREC_HUB_IP:-127.0.0.1}:$(HUB_PORT)/ (state in $${STUDYREC_HUB_STATE:-hub-state/}; Ctrl-C stops it)"
	STUDYREC_HUB_PORT=$(HUB_PORT) $(VENV)/bin/jupyterhub -f deploy/jupyterhub_config.py

clean:
	rm -rf $(VENV) node_modules runs/*/ warehouse.duckdb warehouse.duckdb.wal
