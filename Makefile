# The two commands of the README:
#   make lab    install everything (first time) and open the course in JupyterLab
#   make test   install everything (first time) and run every test: unit tests + nbval notebooks
# Other targets: setup, unit, notebooks, browser-test, execute NB=..., check, bench, doctor,
# prepare, clean

VENV    ?= .venv
PY      := $(VENV)/bin/python
NBVAL   := -p no:cacheprovider --nbval --nbval-sanitize-with notebooks/sanitize.cfg --nbval-cell-timeout 900
# the saved outputs come from this environment (conftest.py sets the same for pytest)
RUNENV  := COURSE_PROFILE=default COURSE_QUIET=1 COURSE_THREADS=2

.PHONY: lab test setup unit notebooks browser-test execute check bench doctor prepare clean

$(PY): pyproject.toml
	@PYTHON_EXE=$$(tools/find-python) || exit 1; \
	echo "Creating $(VENV) with $$PYTHON_EXE"; \
	"$$PYTHON_EXE" -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[test]"
	@touch $(PY)

setup: $(PY)

lab: $(PY)
	$(PY) -m course_utils doctor || true
	$(PY) -m jupyter lab notebooks/00_setup_and_tour.ipynb

test: $(PY)
	$(PY) -m pytest tests -q
	$(PY) -m pytest $(NBVAL) notebooks -q

unit: $(PY)
	$(PY) -m pytest tests -q

notebooks: $(PY)
	$(PY) -m pytest $(NBVAL) notebooks -q

# JupyterLab in headless Chromium: run notebooks from the menu, check outputs and a widget, save
# docs/screenshots/jupyterlab.png (needs Debian's chromium: sudo apt-get install chromium)
browser-test: $(PY)
	$(PY) -m pytest -m browser tests/browser -q

# re-run one notebook top to bottom in a fresh kernel and save it with its outputs
execute: $(PY)
	$(RUNENV) $(PY) -m jupyter nbconvert --to notebook --execute --inplace \
	  --ExecutePreprocessor.timeout=900 --ExecutePreprocessor.kernel_name=python3 $(NB)

check:
	python3 ../shared/tools/check_notebooks.py notebooks

bench: $(PY)
	$(PY) benchmarks/bench_fit.py
	$(PY) benchmarks/bench_conv.py

doctor: $(PY)
	$(PY) -m course_utils doctor

prepare: $(PY)
	$(PY) -m course_utils prepare

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
