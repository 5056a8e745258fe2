# `make run` and `make test` are the two set-up commands of a fresh clone (see README.md).
PYTHON ?= python3
VENV ?= .venv
# torch first, from the pinned CPU build: any other spec pulls gigabytes of CUDA wheels.
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The generator tests need llama-cpp-python, which PyPI has only as source: pip builds it (about
# 4.5 minutes on 2 cores, once per machine). Portable x86-64 flags: a native build picks AMX
# instructions that crash (SIGSEGV) on machines whose kernel does not grant them, as here.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
LLM_STAMP := $(VENV)/.installed-llm

.PHONY: install install-llm run test lint bench clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

$(LLM_STAMP): $(STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet -e '.[dev,llm,llm-test]'
	touch $@

install-llm: $(LLM_STAMP)

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
	$(BIN)/zgqa bench reliability

# Two workers (pytest-xdist) on 2 cores: they share one materialized model and one built index
# (tests/conftest.py), and a group of tests sharing a costly fixture (the app, the browser, the LLM
# server, the scored question files) stays in one worker.
TEST_WORKERS ?= 2
test: install-llm lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup --durations=15

lint: install
	$(BIN)/ruff check qa vectorstore tests benchmarks app.py
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
