# Two commands on a fresh clone with Python 3.11+: `make demo` and `make test`.
# Both install the exact versions in requirements-lock.txt (with hashes); `make lock` regenerates it
# from pyproject.toml's ranges, `make test-latest` tries the newest releases in a separate venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements-lock.txt
DATA   := data/sample
# The tools that install and lock, pinned too.
PIP_VERSION := 26.3
UV_VERSION  := 0.13.9
LATEST := .venv-latest

.PHONY: install demo test lint test-latest lock bench clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "pip==$(PIP_VERSION)"
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/kpitools sample $(DATA)
	$(BIN)/kpitools validate $(DATA)
	$(BIN)/kpitools kpis $(DATA) --kpi revenue won_deals win_rate pipeline_value mrr customer_churn_rate --freq M --period last --format table
	$(BIN)/kpitools run params/demo.yml
	@echo "open reports/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest

# What CI checks besides the tests (and the pre-commit hooks run on each commit): ruff, mypy, and the
# notebooks committed without outputs.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/nbstripout --keep-id --verify notebooks/*.ipynb

# The newest releases inside pyproject's ranges, in their own venv: a breaking release shows here
# (and as a diff of `make lock`), not on main.
test-latest:
	test -x $(LATEST)/bin/python || $(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e ".[dev]"
	$(LATEST)/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	$(LATEST)/bin/python -m pip freeze --exclude-editable > $(LATEST)/versions.txt
	$(LATEST)/bin/python -m pytest

# Regenerate the lock (newest versions inside the ranges, every platform and Python >= 3.11) and the
# conda environment that pins the same versions.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
	    --generate-hashes --upgrade --no-header --quiet -o $(LOCK)
	$(BIN)/python tools/environment_from_lock.py $(LOCK) > environment.yml

bench: $(STAMP)
	$(BIN)/python bench/kpis.py

clean:
	rm -rf $(VENV) $(LATEST) data reports/*.html reports/*/ .pytest_cache .hypothesis
