# Two set-up commands: `make run` and `make test`. Everything else is a step they use.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo .venv-tools/bin/uv)
PY := .venv/bin/python

.PHONY: run test lint install browser r migrate demo bench samples mutation screenshots clean

install: $(UV)
	$(UV) sync --frozen

.venv-tools/bin/uv:
	python3 -m venv .venv-tools
	.venv-tools/bin/pip install --quiet uv

browser:
	@test -x /usr/bin/chromium || { echo "Installing Chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# R with haven, for the test that reads the raw tables' load.R back.
r:
	@test -x /usr/bin/Rscript || { echo "Installing R and haven for the raw table tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq r-base-core r-cran-haven >/dev/null; }

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo

run: demo
	./scripts/run-local.sh

# One test process per CPU; a module's tests stay together, so its fixtures are built once.
test: install browser r
	$(PY) -m pytest -n auto --dist loadfile $(PYTEST_ARGS)

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy .
	.venv/bin/lint-imports

bench: install
	$(PY) -m bench

# The sample casebook PDF and annotated CRF of docs/samples, printed from synthetic data in a
# database of their own.
samples: install
	rm -f var/samples.sqlite3
	DATABASE_URL=sqlite:///var/samples.sqlite3 $(PY) manage.py migrate --noinput -v0
	DATABASE_URL=sqlite:///var/samples.sqlite3 $(PY) manage.py casebook_samples

# The README's screenshots (docs/screenshots/), from a fresh demo in a temporary directory.
screenshots: install browser
	$(PY) scripts/screenshots.py

# Mutation testing of the calculators (assessments/scoring/) against their own tests, which
# need no database; never part of `make test` or CI. Configured in pyproject.toml
# ([tool.mutmut]); MUTANTS narrows the run, e.g. MUTANTS='assessments.scoring.egfr*'.
MUTATION_CHILDREN ?= 1
mutation: install
	.venv/bin/mutmut run --max-children $(MUTATION_CHILDREN) $(MUTANTS)
	.venv/bin/mutmut results

clean:
	rm -rf var .venv .venv-tools
