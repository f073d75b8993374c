# The two commands the README promises: `make run` and `make test`.
# Both create .venv when missing and (re)install the project when pyproject.toml changes.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test unit integration demo probe clean

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

# A hostile run against its own `editsync run` on loopback (embedded broker, sandboxes, log level debug):
# README "Hostile input, secrets and the service port". Exit 0 only if every check holds.
probe: $(STAMP)
	$(BIN)/python -m tests.probe --requests $${REQUESTS:-3000}

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

clean:
	rm -rf $(VENV) .editsync-data .editsync-probe .pytest_cache
