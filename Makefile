# recorder-ui: every target sets up what it needs, so a fresh clone needs nothing else.
.PHONY: run serve test lint format bench load clean index
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

# The first Python 3.12+ found: $(PYTHON) if given, then python3.13, python3.12, python3, python.
FIND_PYTHON = for c in $(PYTHON) python3.13 python3.12 python3 python; do \
	  if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then echo $$c; break; fi; \
	done

$(VENV)/ready: requirements.txt requirements-dev.txt
	@py=$$($(FIND_PYTHON)); \
	if [ -z "$$py" ]; then echo "recorder-ui needs Python 3.12 or newer: install python3.12 (or set PYTHON=/path/to/python3.12)" >&2; exit 1; fi; \
	if [ -x $(PY) ] && ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then rm -rf $(VENV); fi; \
	[ -x $(PY) ] || $$py -m venv $(VENV) || { echo "could not create $(VENV) with $$py: install its venv module (python3.12-venv)" >&2; exit 1; }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

run: $(VENV)/ready  ## set up, index RECORDINGS_DIR (default recordings/), serve on http://127.0.0.1:8000
	RECORDER_UI_DEBUG=1 $(PY) manage.py migrate --verbosity 0
	RECORDER_UI_DEBUG=1 $(PY) manage.py index_recordings
	RECORDER_UI_DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

index: $(VENV)/ready
	$(PY) manage.py migrate --verbosity 0
	$(PY) manage.py index_recordings

serve: $(VENV)/ready  ## production: gunicorn behind your proxy; configure with environment variables (README)
	$(PY) manage.py migrate --verbosity 0
	RECORDER_UI_STATIC_ROOT=$${RECORDER_UI_STATIC_ROOT:-$(CURDIR)/staticfiles} $(PY) manage.py collectstatic --noinput --verbosity 0
	RECORDER_UI_STATIC_ROOT=$${RECORDER_UI_STATIC_ROOT:-$(CURDIR)/staticfiles} $(VENV)/bin/gunicorn recorder_ui.wsgi --bind $(HOST):$(PORT) --workers $${WEB_CONCURRENCY:-2} --threads 4 --worker-class gthread --timeout 60 --no-control-socket --access-logfile -

lint: $(VENV)/ready
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy --strict recorder_ui/domain

format: $(VENV)/ready
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: $(VENV)/ready lint  ## set up, run the checks and the whole suite
	$(PY) -m pytest

bench: $(VENV)/ready  ## speed and memory figures on the corpus (RECORDER_UI_CORPUS)
	@if [ -z "$$RECORDER_UI_CORPUS" ]; then echo "make bench needs RECORDER_UI_CORPUS=../shared/corpus/llama-stack" >&2; exit 1; fi
	$(PY) bench/bench_index.py
	$(PY) bench/bench_decode.py
	$(PY) bench/bench_pages.py
	$(PY) bench/bench_diff.py
	$(PY) bench/bench_scale.py
	@if [ -n "$$RECORDER_UI_HISTORY" ]; then $(PY) bench/diff_history.py; else echo "bench: diff_history skipped: set RECORDER_UI_HISTORY=../shared/corpus/llama-stack-history.bundle"; fi

load: $(VENV)/ready  ## gunicorn on 127.0.0.1 with the corpus: 50 clients, 30 s on /healthz then 30 s on the mix (LOAD_SECONDS)
	@if [ -z "$$RECORDER_UI_CORPUS" ]; then echo "make load needs RECORDER_UI_CORPUS=../shared/corpus/llama-stack" >&2; exit 1; fi
	$(PY) bench/load_test.py

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm staticfiles artifacts
