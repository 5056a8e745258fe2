# `make run` and `make test` are the two set-up commands of a fresh clone (see README.md).
PYTHON ?= python3
VENV ?= .venv
# torch first, from the pinned CPU build: any other spec pulls gigabytes of CUDA wheels.
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

# Builds what is missing (the model once, then the index: both show progress), then serves the chat
# on http://127.0.0.1:7860.
run: install
	$(BIN)/zgqa build
	$(BIN)/python app.py

bench: install
	$(BIN)/zgqa bench index
	$(BIN)/zgqa build
	$(BIN)/zgqa bench qa
	$(BIN)/zgqa bench qa --questions tests/fixtures/eval_qa_extra.jsonl
	$(BIN)/zgqa bench app

test: lint
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check qa vectorstore tests benchmarks app.py
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
