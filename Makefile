# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CHECKOV := .venv-checkov/bin/checkov

.PHONY: test demo bench clean checkov

# Every file pip reads for the install, so that a change to any of them installs again.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml setup.py
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "make: '$(PYTHON)' is not Python 3.11 or later (README, 'Two commands'): run make PYTHON=python3.11 (or later)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

test: $(STAMP) $(CHECKOV)
	$(PY) -m pytest

demo: $(STAMP)
	$(PY) -m sandbox.demo

# The benchmarks import the source from the repository root, as the tests do (pytest's pythonpath).
bench: export PYTHONPATH := $(CURDIR)
bench: $(STAMP)
	$(PY) bench/import_time.py
	$(PY) bench/diagnosis_speed.py
	$(PY) bench/timeline_build.py
	$(PY) bench/outcome_publish.py
	$(PY) bench/monitoring_decode.py
	$(PY) bench/monitoring_query.py
	$(PY) bench/run_decode.py
	$(PY) bench/alert_path.py
	$(PY) bench/cold_start.py
	$(PY) bench/storm.py

# The fast property tier over 10^5 generated programs (docs/testing.md): count, programs/s, any counterexample.
.PHONY: soak
soak: $(STAMP)
	$(PY) -m tests.property.soak --keep-going

# checkov in a virtualenv of its own: its dependencies would otherwise change the project's.
$(CHECKOV): requirements-checkov.txt
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $(CHECKOV)

checkov: $(CHECKOV)

clean:
	rm -rf $(VENV) .venv-checkov .pytest_cache *.egg-info
