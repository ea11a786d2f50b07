PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint notebook clean venv

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

lint: venv
	$(BIN)/pip install --quiet -e '.[test,lint]'
	$(BIN)/ruff check sim tests benchmarks

# JupyterLab on the notebooks/ folder (the `notebook` extra); stop it with Ctrl-C. As root (a
# container) JupyterLab refuses to start unless told --allow-root, so it is told.
notebook: venv
	$(BIN)/pip install --quiet -e '.[test,notebook]'
	$(BIN)/jupyter lab notebooks/ $(NOTEBOOK_ARGS) $$([ "$$(id -u)" = 0 ] && echo --allow-root)

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis .ruff_cache supportsim.egg-info
	find sim tests benchmarks -name __pycache__ -type d -prune -exec rm -rf {} +
