# The two commands of the README: `make demo` and `make test` (both set up first).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
LITE_VENV := .venv-lite

.PHONY: setup browser demo test clean-demo

setup: $(VENV)/.installed $(LITE_VENV)/.installed browser

# Headless Chromium + chromedriver for the report's browser test (apt, when missing and root).
browser:
	bash tools/install_chromium.sh

$(VENV)/.installed: setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 10), sys.version'
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -c constraints.txt -e '.[test,onnx]'
	touch $@

# Skipped with a note, and retried on the next `make setup`, where no Python 3.10 is found.
$(LITE_VENV)/.installed: constraints-lite.txt tools/make_lite_env.sh
	bash tools/make_lite_env.sh $(LITE_VENV)

demo: setup
	LUIGI_CONFIG_PATH=configs/demo.cfg $(VENV)/bin/python -m pipeline.demo

test: setup
	$(VENV)/bin/python -m pytest

clean-demo:
	rm -rf data/demo data/sample
