# Two commands do all the set-up (see README.md):
#   make book   install what is needed (once) and build the book into _build/html
#   make test   install what is needed (once) and run all tests, nbval over every notebook included
# VENV is where the virtual environment lives (default .venv in this folder).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# The stamp names what was installed: requirements, project metadata and this folder (the package
# is installed in editable mode from here). Set-up re-runs only when one of those changes.
STAMP := $(VENV)/.vggbook-setup-$(shell (cat requirements.txt pyproject.toml; echo '$(CURDIR)') | sha1sum | cut -c1-12)

.PHONY: setup book test test-fast nbval notebooks bench bench-cpu record clean
setup: $(STAMP)

$(STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps d2l==1.0.3
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -c "import torch, d2l, vggbook; print('ready: torch', torch.__version__, '| d2l', d2l.__version__)"
	@rm -f $(VENV)/.vggbook-setup-*
	@touch $@

book: setup
	$(VENV)/bin/jupyter-book build . -W -n --keep-going

# The notebooks run with the smoke profile and forced training unless VGGBOOK_PROFILE says otherwise.
NBVAL := --nbval  # nbval's other options are in pyproject.toml
test: setup
	$(PY) -m pytest tests notebooks $(NBVAL) $(PYTEST_ARGS)

# Before every commit: the unit tests that need no notebook kernel, no subprocess, no training and no data.
test-fast: setup
	$(PY) -m pytest tests -m "not slow" -q $(PYTEST_ARGS)

# Only the notebooks under nbval (tools/gpu_job.sh runs them with the full profile and forced training).
nbval: setup
	$(PY) -m pytest notebooks $(NBVAL) $(PYTEST_ARGS)

# Re-render the committed notebooks in place, in order, each on a fresh kernel (recorded runs shown).
notebooks: setup
	$(PY) scripts/render_notebooks.py

bench: setup
	$(PY) bench/bench.py --out bench/benchmark.json

# The CPU yardstick (d2l's recipe, the plain fp32 loop, the fast path; about 30 minutes on 2 cores) and
# the fast path's pieces one at a time (a few minutes): what the 性能 page quotes for a CPU.
bench-cpu: setup
	$(PY) bench/bench.py --cpu-yardstick
	$(PY) bench/cpu_steps.py

record: setup
	$(PY) -m vggbook record

clean:
	rm -rf _build
