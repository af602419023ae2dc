# Every target bootstraps its own virtual environment on a fresh machine (Python >= 3.11 only).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test lint typecheck unit browsers run demo bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

test: lint typecheck browsers ## lint, type check and every test suite
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The console's browser tests drive Debian's Chromium (never Playwright's own downloads), with a
# Chinese font for its pages; installed once, as root, and quiet when already there.
browsers:
	@test -x /usr/bin/chromium -a -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; }

unit: $(STAMP)
	$(BIN)/pytest -m unit

run: $(STAMP) ## one node for one jurisdiction (deploy/node.example.toml; CONFIG=... for another)
	$(BIN)/fengqiao node run --config $(or $(CONFIG),deploy/node.example.toml)

demo: $(STAMP) ## two regions, two nodes, the seed scenarios told step by step; serves until Ctrl-C
	$(BIN)/fengqiao demo

bench: $(STAMP) ## end-to-end throughput against raw JetStream (QUICK=1: a smoke run)
	$(BIN)/python scripts/bench.py $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache .hypothesis
