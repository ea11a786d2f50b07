PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint notebook clean venv test-simpy-lowest

# First the Python: a PY= older than 3.11 stops here with a message saying what was found and
# how to choose another, and a .venv built by a wrong Python is removed so it is rebuilt.
venv:
	@sh scripts/check-python.sh '$(PY)' '$(origin PY)' '$(VENV)'
	@$(MAKE) --no-print-directory $(STAMP) PY='$(PY)'

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: venv
	$(BIN)/supportsim run scenarios/normal_day.yaml

test: venv
	$(BIN)/python -m pytest -q

bench: venv
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python benchmarks/run.py

# The engine's tests on the lowest SimPy that pyproject.toml allows (`make test` runs them on
# the newest): a venv holding only that SimPy, which sees every other package of .venv behind
# it (a .pth line adds .venv's site-packages after its own), so it builds in seconds.
SIMPY_LOWEST := 4.1.0
LOWEST := .venv-simpy-lowest
ENGINE_TESTS := tests/test_engine*.py tests/test_simpy_public.py tests/test_policies.py \
	tests/test_extending.py

test-simpy-lowest: venv
	test -d $(LOWEST) || $(PY) -m venv $(LOWEST)
	$(LOWEST)/bin/pip install --quiet --no-deps 'simpy==$(SIMPY_LOWEST)'
	$(BIN)/python -c "import sysconfig; print('import site; site.addsitedir(%r)' % sysconfig.get_paths()['purelib'])" > "$$($(LOWEST)/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")/zz-main-venv.pth"
	$(LOWEST)/bin/python -c "import simpy, sim; assert simpy.__version__ == '$(SIMPY_LOWEST)', simpy.__version__; print('simpy', simpy.__version__)"
	$(LOWEST)/bin/python -m pytest -q -p no:cacheprovider $(ENGINE_TESTS)

lint: venv
	$(BIN)/pip install --quiet -e '.[test,lint]'
	$(BIN)/ruff check sim tests benchmarks

# JupyterLab on the notebooks/ folder (the `notebook` extra); stop it with Ctrl-C. As root (a
# container) JupyterLab refuses to start unless told --allow-root, so it is told.
notebook: venv
	$(BIN)/pip install --quiet -e '.[test,notebook]'
	$(BIN)/jupyter lab notebooks/ $(NOTEBOOK_ARGS) $$([ "$$(id -u)" = 0 ] && echo --allow-root)

clean:
	rm -rf $(VENV) $(LOWEST) out .pytest_cache .hypothesis .ruff_cache supportsim.egg-info
	find sim tests benchmarks -name __pycache__ -type d -prune -exec rm -rf {} +
