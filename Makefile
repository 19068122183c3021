# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/nhiaudit scan --snapshot examples/demo/snapshot.json --policy examples/demo/policy.yaml --as-of 2026-11-28

test: $(STAMP)
	$(BIN)/ruff check nhiaudit tests benchmarks
	$(BIN)/pytest -n 2

bench: $(STAMP)
	$(BIN)/python benchmarks/scan_benchmark.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
