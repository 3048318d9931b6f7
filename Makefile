# The README's two commands. Both set up the environment first (idempotent, cached).
PY := .venv/bin/python
DATA := data/hce_synth

.PHONY: setup demo test dataset
setup:
	bash tools/setup_env.sh

dataset: setup
	$(PY) tools/make_dataset.py --out $(DATA)

# the demo needs only the headroom split (4 s instead of 19 s for every split)
demo: setup
	$(PY) tools/make_dataset.py --out $(DATA) --only context_cooc_train context_cooc_val
	$(PY) tools/demo.py --data-root $(DATA)

test: setup
	$(PY) -m pytest tests -q -p no:cacheprovider
