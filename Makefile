# Two commands are the contract: `make demo` and `make test`. Each bootstraps .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast test-browser install browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# the CPU build of torch first, so sentence-transformers does not pull CUDA
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/incidentwire demo

# Browser tests run in their own pytest process: Playwright's event loop breaks
# the async datasette.client tests when they share one.
test: $(STAMP)
	$(BIN)/python -m pytest -q
	@$(MAKE) --no-print-directory test-browser

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -x

test-browser: $(STAMP) browser
	$(BIN)/python -m pytest -q -m browser -p no:cacheprovider

# Debian's Chromium drives the browser tests; Playwright never downloads a browser.
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

clean:
	rm -rf $(VENV) build dist db/*.db* digests/*.md digests/*.html digests/*.atom
