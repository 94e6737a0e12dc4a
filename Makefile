# Two commands on a fresh clone with Python 3.11+: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   := data/sample

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
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

bench: $(STAMP)
	$(BIN)/python bench/kpis.py

clean:
	rm -rf $(VENV) data reports/*.html reports/*/ .pytest_cache .hypothesis
