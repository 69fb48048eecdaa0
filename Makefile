# quotetrace: `make run` sets everything up and runs the seeds job; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
QT := $(VENV)/bin/quotetrace
E5 := models/multilingual-e5-small/modules.json

export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install models run test bench bench-scale eval lint clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

install: $(VENV)/.installed

$(E5): | $(VENV)/.installed
	$(QT) setup-models

models: $(E5)

run: models
	$(QT) run configs/seeds.yaml

test: models
	$(PY) -m pytest -q -p no:cacheprovider

bench: models
	$(PY) benchmarks/run.py
	$(PY) benchmarks/align_corpus.py
	$(PY) benchmarks/onnx_embed.py
	$(PY) benchmarks/ct2_translate.py

bench-scale: models
	$(PY) benchmarks/scale.py

eval: run
	$(PY) eval/evaluate_seeds.py outputs/seeds
	$(PY) eval/evaluate_quotes_seeds.py outputs/seeds
	$(PY) eval/evaluate_bitext.py
	$(PY) eval/evaluate_mixed.py --split tst2013
	$(PY) eval/evaluate_ordered.py --split tst2013
	$(PY) eval/evaluate_quotes_polnear.py
	$(PY) eval/evaluate_mrpc.py
	$(PY) eval/evaluate_trace_paraphrases.py outputs/seeds

lint: install
	$(VENV)/bin/ruff check pipeline tests eval benchmarks

clean:
	rm -rf outputs/*/ .pytest_cache
