# The two commands of the README:
#   make lab    install everything (first time) and open the course in JupyterLab
#   make test   install everything (first time) and run every test: unit tests + nbval notebooks
# Other targets: setup, unit, notebooks [NB=...], browser-test, execute NB=..., check, bench, doctor,
# prepare, assignments, autograde [NB=01 02 ...], autograde-ci, clean. VENV=... (default .venv) and PYTHON=... choose the venv and its interpreter.

VENV    ?= .venv
PY      := $(VENV)/bin/python
# written as the last step of a successful install: a venv without it (an interrupted
# `make setup`) is removed and built again, never trusted
DONE    := $(VENV)/.course-installed
NBVAL   := -p no:cacheprovider --nbval --nbval-sanitize-with notebooks/sanitize.cfg --nbval-cell-timeout 900
# the saved outputs come from this environment (conftest.py sets the same for pytest)
RUNENV  := COURSE_PROFILE=default COURSE_QUIET=1 COURSE_THREADS=2
# jupyter lab refuses to run as root (containers, cloud VMs) unless told
LABFLAGS := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: lab test setup unit notebooks browser-test execute timings check bench doctor prepare clean \
        assignments autograde autograde-ci

# PYTHON=... with an existing $(VENV) of another Python version: stop, rather than quietly run
# the old one (make setup VENV=.venv312 PYTHON=python3.12 keeps a second venv beside the first)
ifneq ($(PYTHON),)
ifneq ($(wildcard $(DONE)),)
ifeq ($(filter clean,$(MAKECMDGOALS)),)
_want := $(shell exe=$$(PYTHON="$(PYTHON)" tools/find-python 2>/dev/null) && "$$exe" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
_have := $(shell "$(PY)" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
ifeq ($(_want),)
$(error PYTHON=$(PYTHON) is not a usable Python 3.8-3.12; see why: PYTHON=$(PYTHON) tools/find-python)
else ifneq ($(_want),$(_have))
$(error $(VENV) was made with Python $(or $(_have),?), but PYTHON=$(PYTHON) is $(_want). Use another folder: make setup VENV=.venv$(subst .,,$(_want)) PYTHON=$(PYTHON), or remove this one: make clean VENV=$(VENV))
endif
endif
endif
endif

$(DONE): pyproject.toml
	@set -e; \
	if [ -f $(DONE) ]; then rm -f $(DONE); \
	elif [ -e $(VENV) ]; then \
	  echo "$(VENV) has no $(notdir $(DONE)) marker (an interrupted make setup?): building it again"; \
	  rm -rf $(VENV); \
	fi; \
	if [ ! -x $(PY) ]; then \
	  PYTHON_EXE=$$(PYTHON="$(PYTHON)" tools/find-python); \
	  echo "Creating $(VENV) with $$PYTHON_EXE"; \
	  "$$PYTHON_EXE" -m venv $(VENV); \
	fi
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[test]"
	@touch $(DONE)

setup: $(DONE)

lab: $(DONE)
	$(PY) -m course_utils doctor || true
	$(PY) -m jupyter lab $(LABFLAGS) notebooks/00_setup_and_tour.ipynb

test: $(DONE)
	$(PY) -m pytest tests -q
	$(PY) -m pytest $(NBVAL) notebooks -q

unit: $(DONE)
	$(PY) -m pytest tests -q

# every notebook, or the ones in NB=...
notebooks: $(DONE)
	$(PY) -m pytest $(NBVAL) $(or $(NB),notebooks) -q

# JupyterLab in headless Chromium: run notebooks from the menu, check outputs and a widget, save
# docs/screenshots/jupyterlab.png (needs Debian's chromium: sudo apt-get install chromium)
browser-test: $(DONE)
	$(PY) -m pytest -m browser tests/browser -q

# re-run one notebook top to bottom in a fresh kernel and save it with its outputs
execute: $(DONE)
	$(RUNENV) $(PY) -m jupyter nbconvert --to notebook --execute --inplace \
	  --ExecutePreprocessor.timeout=900 --ExecutePreprocessor.kernel_name=python3 $(NB)

# nbgrader: mark the solutions and the graded checks in the notebooks (sources and metadata
# only; safe to re-run, e.g. after `make execute`); `--check` lists what is unmarked
assignments: $(DONE)
	$(PY) -m course_utils.admin.assignments

# nbgrader autograde of notebooks 01-13 (or NB=01 02 ...) both ways: the instructor's copy
# (full marks) and the untouched release (0, with the checkers' messages); executes each twice
autograde: $(DONE)
	$(RUNENV) $(PY) -m course_utils.admin.autograde $(NB)

# the same for 01, 03 and 10 as tests (CI, about 4 minutes)
autograde-ci: $(DONE)
	$(RUNENV) COURSE_AUTOGRADE=1 $(PY) -m pytest tests/test_nbgrader.py -q -k autograde

# notebook hygiene (the shared copy of the checker where there is one, else the repository's)
check:
	python3 $(firstword $(wildcard ../shared/tools/check_notebooks.py) tools/check_notebooks.py) notebooks

# execute every notebook alone, one after another, save it, record its time and memory
# (docs/timings.json, the table in docs/teaching.md); nothing else should run meanwhile
timings: $(DONE)
	$(PY) benchmarks/time_notebooks.py $(NB)

bench: $(DONE)
	$(PY) benchmarks/bench_fit.py
	$(PY) benchmarks/bench_conv.py

doctor: $(DONE)
	$(PY) -m course_utils doctor

prepare: $(DONE)
	$(PY) -m course_utils prepare

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
