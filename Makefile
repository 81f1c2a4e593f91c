# callscore: `make demo` scores the bundled sample calls, `make test` runs the test suite.
# Both set up .venv first (once; again only when pyproject.toml changes).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= warehouse/demo.duckdb

.PHONY: install demo test samples clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "installing callscore and its models into $(VENV) (the first time compiles llama-cpp-python: a few minutes)"
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/callscore score samples/calls --db $(DEMO_DB)
	@echo
	@echo "KPI per criterion (view kpi_criteria):"
	$(BIN)/callscore sql --db $(DEMO_DB) "SELECT criterion_id, answers, passed, failed, not_applicable, pass_rate, mean_confidence FROM kpi_criteria ORDER BY criterion_id"
	@echo "KPI per agent (view kpi_agents):"
	$(BIN)/callscore sql --db $(DEMO_DB) "SELECT agent, team, calls, mean_qa_score, critical_failed_calls FROM kpi_agents ORDER BY agent"
	@echo "Note: the embedded 135M LLM judges close to chance (it tends to answer no to everything);"
	@echo "point --llm-model at an 8B-class GGUF for real scores (README: 'The embedded models')."

test: install
	$(BIN)/python -m pytest

# Regenerate samples/calls from the scripts in samples/make_samples.py (needs espeak-ng).
samples: install
	command -v espeak-ng >/dev/null || (apt-get update && apt-get install -y espeak-ng)
	$(BIN)/python samples/make_samples.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts $(DEMO_DB) $(DEMO_DB).wal
