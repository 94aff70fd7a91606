# The two commands: `make dev` starts the local cloud, `make test` runs every test (`make unit`
# runs the unit tests alone: fakes only, no process or connection, seconds).
# Each creates .venv/ and installs what it needs on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: dev test unit lint docs demo logs package lock deploy undeploy reliability soak bench clean client-config \
	client-config-from-stack release

# A line per step, and pip's own progress for the long one (about a minute on a first run).
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@echo "setting up $(VENV) with $(PYTHON) (first run, or requirements changed) ..."
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@echo "installing the dependencies (requirements-dev.txt) ..."
	$(PY) -m pip install --disable-pip-version-check --progress-bar on -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@echo "$(VENV) ready"
	touch $(STAMP)

# The venv's tools (uv) on PATH: where no python3.10 is found, uv gets one for the functions.
WITH_VENV := PATH="$(CURDIR)/$(VENV)/bin:$$PATH"

dev: $(STAMP) package
	$(WITH_VENV) $(PY) -m localcloud $(ARGS)

# Every test, the files spread over TEST_WORKERS processes (pytest-xdist; each file stays in one,
# each process starts its own shared local cloud on ephemeral ports).
TEST_WORKERS ?= 2
test: lint package
	$(WITH_VENV) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# tests/unit only (marked `unit` by tests/conftest.py, which fails any that starts a process or
# opens a connection); needs the venv, not the packages.
unit: $(STAMP)
	$(PY) -m pytest tests/unit -m unit -q $(PYTEST_ARGS)

# ruff and mypy with the settings in pyproject.toml (what they check, and how strictly, is there).
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy

# Regenerate the tables of docs/ that are generated from the code (docs/api.md's command tables).
docs: $(STAMP)
	$(PY) scripts/docs.py

demo: $(STAMP) package
	$(PY) scripts/demo.py

logs: $(STAMP)
	$(PY) -m localcloud logs $(ARGS)

# Per-function packages for FC's python3.10 (build/<fn>/ and build/<fn>.zip), from the locks.
package: $(STAMP)
	$(WITH_VENV) $(PY) scripts/package.py

# Ship template.yml as a ROS stack (docs/deploy.md): make deploy ARGS="--stack-name NAME"
deploy: $(STAMP) package
	$(PY) scripts/deploy.py $(ARGS)

# Publish the template and packages for the one-click deploy (docs/deploy-from-console.md):
# make release VERSION=1.0.0 [ARGS="--regions cn-hangzhou,cn-shanghai --bucket-prefix NAME"];
# ARGS=--local publishes to the running local cloud and prints its console's link.
release: $(STAMP) package
	$(PY) scripts/release.py --version $(VERSION) $(ARGS)

# Delete a stack make deploy made, its code objects, its bucket if make deploy created it and it
# is empty, and its client config (docs/deploy.md): make undeploy STACK=NAME [ARGS=--yes]
undeploy: $(STAMP)
	$(if $(filter command line environment,$(origin STACK)),,$(error name the stack: make undeploy STACK=<name>))
	$(PY) scripts/deploy.py --delete --stack-name $(STACK) $(ARGS)

# Re-resolve functions/<fn>/requirements.in (for python3.10, manylinux x86_64) into the locks.
lock: $(STAMP)
	$(PY) scripts/package.py --lock

reliability: $(STAMP) package
	$(PY) scripts/reliability.py

# The mini program's client/config.js from client-config/$(STACK).json (`make dev` writes local.json).
STACK ?= local
client-config:
	$(PYTHON) scripts/client_config.py --stack $(STACK)

# client-config/$(STACK).json from a stack's outputs (a stack made from the ROS console link):
# asked from ROS, or from a file the outputs were pasted into (OUTPUTS=outputs.json).
client-config-from-stack: $(STAMP)
	$(PY) scripts/stack_config.py --stack $(STACK) $(if $(OUTPUTS),--outputs $(OUTPUTS))

# `make soak SOAK_SECONDS=600`: users and random faults for that long, then every invariant;
# `make soak SOAK_PAYMENTS=1`: the payments soak (buyers, notify faults, every paid order once).
soak: $(STAMP) package
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_USERS=$(SOAK_USERS) SOAK_SEED=$(SOAK_SEED) SOAK_PAYMENTS=$(SOAK_PAYMENTS) $(PY) scripts/soak.py

# The speed figures side by side (cold start vs `node -e 0`, warm latency and upstream requests
# per operation, 2020 list and v2 page at 10/1,000/10,000 rows, package sizes), on an ephemeral
# local cloud; a few minutes of both cores, so nothing else should run meanwhile.
bench: $(STAMP) package
	$(PY) scripts/bench.py $(ARGS)

clean:
	rm -rf build .pytest_cache .hypothesis .mypy_cache .ruff_cache
