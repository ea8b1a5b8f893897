# The two commands of the README: `make run` and `make test`. Both set up .venv themselves.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# pyproject.toml's [tool.magstation] no-deps: packages whose declared dependencies are not needed
NO_DEPS := import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['tool']['magstation']['no-deps']))

.PHONY: run test bench clean

$(VENV)/.run-installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	$(BIN)/pip install -q --no-deps $$($(BIN)/python -c "$(NO_DEPS)")
	touch $@

$(VENV)/.dev-installed: $(VENV)/.run-installed
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

run: $(VENV)/.run-installed
	$(BIN)/magstation

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest -q

bench: $(VENV)/.run-installed
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV)
