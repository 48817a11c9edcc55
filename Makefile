# medflow: two commands, `make run` and `make test`. Each builds .venv from the pins first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 2
PIP_INSTALL := $(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt

.PHONY: run test lint bench readme clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "medflow needs Python 3.11 or newer; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-installed: requirements.txt constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.run-installed
	$(PIP_INSTALL) -r requirements-dev.txt
	touch $@

## run: set up, run the whole default workflow on the embedded examples, write the report
run: $(VENV)/.run-installed
	$(BIN)/snakemake --profile profiles/local --cores $(CORES)
	$(BIN)/snakemake --profile profiles/local --cores $(CORES) --report results/report.html \
		--report-metadata workflow/report/metadata.yaml

## test: set up with test tools and run every test (SLURM ones included where the machine allows)
test: $(VENV)/.dev-installed
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check Snakefile workflow
	$(BIN)/snakemake --lint --cores 1

bench: $(VENV)/.run-installed
	$(BIN)/python bench/run_all.py

## readme: rewrite README.md's generated blocks (config tables from the schema, bench figures)
readme: $(VENV)/.run-installed
	cd scripts && ../$(BIN)/python -m medflow.readme

clean:
	rm -rf results/* resources/* logs benchmarks .snakemake
