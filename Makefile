# euroassist: `make run` installs everything and starts the assistant; `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch first, pinned: 2.13.0 is the CPU build on this disk; an unpinned torch pulls CUDA (GBs).
TORCH := torch==2.13.0
SAMPLE_QUESTION ?= Entro quanti anni il comune deve restituire il contributo se cambia la destinazione di un edificio riqualificato con il FESR?

.PHONY: install system-deps run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[st,use,dev]'
	$(BIN)/python -c "from assistant.llm_tokens import seed_tiktoken_cache; seed_tiktoken_cache()"
	touch $@

install: system-deps $(VENV)/.installed

# OCR (Tesseract) is a Debian package; installed when we can, reported when we cannot.
system-deps:
	@scripts/system-deps.sh

run: install
	$(BIN)/euroassist ingest corpus/
	$(BIN)/euroassist ask "$(SAMPLE_QUESTION)"

test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check assistant ui tests bench

bench: install
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .euroassist
