# The two commands the README promises: `make run` and `make test`.
# Both create .venv when missing and (re)install the project when pyproject.toml changes.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test check unit component integration demo probe bench clean system-packages k8s-rules docs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# A development secret keeps `make run` one command; production sets its own.
run: $(STAMP)
	EDITSYNC_SHOPIFY_WEBHOOK_SECRET="$${EDITSYNC_SHOPIFY_WEBHOOK_SECRET:-editsync-dev-secret}" $(BIN)/editsync run

# Integration modules spend most of their time waiting (for a worker to join, a sink to retry, a hold
# to come due), so three run side by side even on 2 cores; each module stays on one worker (loadfile)
# because its fixtures share one pipeline. TEST_WORKERS=0 runs everything in this process, in order.
TEST_WORKERS ?= 3
test: check system-packages
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# Static checks, seconds: lint, the import contracts that keep the layers (pyproject.toml [tool.importlinter]),
# and types (pyproject.toml [tool.mypy]: strict on the core and the ports).
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy

# Debian packages the tests drive: Chromium and its driver (the inbox's browser test), PostgreSQL
# (the shared exception store) and Prometheus with promtool (alert-rule tests, dashboards against a real
# Prometheus). Installed only when missing, so a second run costs nothing.
system-packages:
	@missing=""; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	test -x /usr/bin/chromedriver || missing="$$missing chromium-driver"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v prometheus >/dev/null && command -v promtool >/dev/null || missing="$$missing prometheus"; \
	if [ -n "$$missing" ]; then \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		echo "installing Debian packages:$$missing"; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi

# The Kubernetes PrometheusRule is generated from deploy/prometheus/alerts.yml.
k8s-rules: $(STAMP)
	$(BIN)/python deploy/kubernetes/prometheusrule.py

# Against a running `make run` (another terminal): a mixed day of orders and edits, then the judge's verdict.
demo: $(STAMP)
	$(BIN)/editsync demo --orders $${ORDERS:-50}

# A hostile run against its own `editsync run` on loopback (embedded broker, sandboxes, log level debug):
# docs/operating/service-port.md, "Hostile input, secrets and the service port". Exit 0 only if every check holds.
probe: $(STAMP)
	$(BIN)/python -m sandboxes.testkit.probe --requests $${REQUESTS:-3000}

# Figures, not verdicts (docs/results.md, "Benchmark"): the core's decisions/s and state size, Avro and the normaliser,
# and a burst of orders through `editsync run` on the embedded broker; a table, and bench-results.json.
# Never part of `make test`. More: make bench BENCH_ARGS="--orders 1000 --only e2e" (python -m benchmarks --help).
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

# The documentation site (mkdocs.yml): the configuration page written from the settings' own descriptions and the
# AsyncAPI document from the topics and schemas, then
# the site built into site/. The suite builds it --strict as well (tests/component/test_docs_site.py).
docs: $(STAMP)
	$(BIN)/python docs/gen_configuration.py
	$(BIN)/python docs/gen_asyncapi.py
	$(BIN)/mkdocs build --strict

# The three tiers (docs/develop.md): unit is pure and takes seconds (no system package, no subprocess, no
# network beyond in-process servers); component drives the real tools (PostgreSQL, promtool, kubectl, a wheel
# build, mkdocs, subprocesses) and the sandboxes on loopback; integration runs on the real broker.
unit: $(STAMP)
	$(BIN)/python -m pytest -n 2 tests/unit

component: $(STAMP) system-packages
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile tests/component

integration: $(STAMP) system-packages
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile tests/integration

clean:
	rm -rf $(VENV) .editsync-data .editsync-probe .pytest_cache site
