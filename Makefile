# Buildify: `make run` starts the platform, `make test` runs every test. Each sets itself up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench demo clean install wheels screenshots

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m services.runtime.dev

demo: $(STAMP)
	$(BIN)/python -m broker.demo

test: $(STAMP) lint
	$(BIN)/pytest -q -ra $(PYTEST_ARGS)

# The console's pages as docs/screenshots/*.png (the browser tests save them while they check each page).
screenshots: $(STAMP)
	BUILDIFY_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/browser/test_console.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy --strict --explicit-package-bases broker contracts modulekit services bench
	$(BIN)/lint-imports

# broker, contracts and modulekit as versioned wheels (packages/*/pyproject.toml) in dist/
wheels: $(STAMP)
	$(BIN)/pip wheel -q --no-deps -w dist packages/contracts packages/broker packages/modulekit

bench: $(STAMP)
	$(BIN)/python bench/bus.py

clean:
	rm -rf .buildify .pytest_cache .mypy_cache .ruff_cache dist
