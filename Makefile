# Bluelight: `make run` serves on the embedded store, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install clean demo bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Bytecode compiled ahead (skips what is up to date): with PYTHONDONTWRITEBYTECODE set, as
# on CI and in the image, every start would compile every module again (~0.1 s).
COMPILE := $(BIN)/python -m compileall -q server

run: $(STAMP)
	$(COMPILE)
	$(BIN)/python -m server serve

BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

demo: $(STAMP)
	$(BIN)/python -m server demo

# Browser tests drive Debian's Chromium (Playwright's own browser download is unreachable).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

lint: $(STAMP)
	$(BIN)/ruff check server tests bench
	$(BIN)/mypy

# One worker per core (at most 4): the slow tests (benchmark smoke runs, fuzzing, browsers)
# wait on subprocesses and sockets, so they overlap well. `pytest -n0` runs it in one process.
test: lint $(CHROMIUM)
	$(BIN)/pytest -q -n auto --maxprocesses 4

clean:
	rm -rf $(VENV) *.egg-info .mypy_cache .ruff_cache .pytest_cache
