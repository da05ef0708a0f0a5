# The two quick-start commands (README): `make demo` and `make test`.
# Both install what they need into the project folder (.venv, node_modules) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test reliability bench lint install clean

$(STAMP): pyproject.toml package.json package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# setuptools' 'Editable installation' box warns that a folder named like the package may shadow
	# it; here that folder is the package itself, so the box is noise on every first run
	PYTHONWARNINGS='ignore:Editable installation' $(BIN)/python -m pip install --quiet -e '.[test]'
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m seedctl.demo

test: $(STAMP)
	$(BIN)/ruff check seedctl tests benchmarks
	$(BIN)/python -m pytest -n 2 -q

reliability: $(STAMP)
	$(BIN)/python -m pytest -q -m reliability

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

lint: $(STAMP)
	$(BIN)/ruff check seedctl tests benchmarks

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache
