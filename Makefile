# The two commands the README promises: `make run` and `make test`.
# Both create .venv when missing and (re)install the project when pyproject.toml changes.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test unit integration demo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# A development secret keeps `make run` one command; production sets its own.
run: $(STAMP)
	EDITSYNC_SHOPIFY_WEBHOOK_SECRET="$${EDITSYNC_SHOPIFY_WEBHOOK_SECRET:-editsync-dev-secret}" $(BIN)/editsync run

test: $(STAMP)
	$(BIN)/python -m pytest

# Against a running `make run` (another terminal): a mixed day of orders and edits, then expected vs actual.
demo: $(STAMP)
	$(BIN)/editsync demo --orders $${ORDERS:-50}

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

clean:
	rm -rf $(VENV) .editsync-data .pytest_cache
