# Two commands do all set-up: `make demo` and `make test` create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint venv clean-venv

$(STAMP): setup.cfg constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[eval,bench,export,dev]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/audiogen recipe run recipes/vocoder/quickstart

lint: $(STAMP)
	$(BIN)/ruff check audiogen tests
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

clean-venv:
	rm -rf $(VENV)
