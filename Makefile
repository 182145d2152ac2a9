# The study's two entry points (see README):
#   make reproduce [PROFILE=demo]   set up, then run the notebook sequence with papermill
#   make test                       set up, then run the test suite
# Set-up is automatic and idempotent: a virtual environment in .venv with the
# pinned dependencies and a Jupyter kernel named python3 inside it.
#   make lab [LAB_ARGS="--no-browser --ip 0.0.0.0 --port 8888"]   JupyterLab on notebooks/

PYTHON  ?= python3
PROFILE ?= demo
# cpu (tensorflow-cpu) or gpu (tensorflow[and-cuda]); see README "Using a GPU"
TF      ?= cpu
VENV    := .venv
STAMP   := $(VENV)/.installed-$(TF)
OTHER_TF := $(if $(filter gpu,$(TF)),cpu,gpu)
PY      := $(VENV)/bin/python
# options passed on to `jupyter lab`, e.g. LAB_ARGS="--no-browser --ip 0.0.0.0 --port 8888"
LAB_ARGS ?=
# Jupyter refuses to start as root (containers, some shared servers) unless told to
LAB_ROOT := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)
# the clean filter of .gitattributes: notebook outputs and execution counts never reach a commit
NBSTRIPOUT = "$(abspath $(shell command -v $(PY)))" -m nbstripout --keep-id

.PHONY: setup reproduce test lab clean-venv git-filter

setup: $(STAMP)
	@$(MAKE) --no-print-directory git-filter

$(STAMP): pyproject.toml
	@$(PYTHON) scripts/check_prereqs.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# tensorflow and tensorflow-cpu install the same module: switching flavours removes the other
	@if [ -e $(VENV)/.installed-$(OTHER_TF) ]; then $(PY) -m pip uninstall --quiet -y tensorflow tensorflow-cpu; fi
	$(PY) -m pip install --quiet -e ".[$(TF),dev]"
	@# musicnn's wheel only carries the pretrained weights (mer_utils/pretrained rebuilds the network in
	@# Keras 3); --no-deps because its metadata pins numpy<1.17 (and its TF1 code is never imported)
	$(PY) -m pip install --quiet --no-deps musicnn==0.1.0
	@# librosa compiles its numba kernels on first import and caches them in its install: once here, not
	@# as a 20 s stall at the first mel extraction of a notebook or test
	$(PY) -c "import librosa.core.audio, librosa.util.utils"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (mer)" >/dev/null
	@rm -f $(VENV)/.installed-*
	@touch $@
	@echo "environment ready in $(VENV) (TensorFlow: $(TF))"

reproduce: setup
	$(PY) -m mer_utils.run --profile $(PROFILE) $(if $(SET),$(foreach s,$(SET),--set $(s)))

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lab: setup
	JUPYTER_PATH=$(VENV)/share/jupyter $(VENV)/bin/jupyter lab notebooks/ $(LAB_ROOT) $(LAB_ARGS)

# Configure the nbstripout filter that .gitattributes names, in this clone's git config
# (`nbstripout --install`, then cell ids kept: they are stable in this project). Idempotent. Outside a
# git checkout, or where git's config cannot be written, it says so and set-up goes on: git then
# treats the filter as absent and commits notebooks as they are.
git-filter:
	@if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(git config --get filter.nbstripout.clean)" = '$(NBSTRIPOUT)' ]; then exit 0; fi; \
	if $(PY) -m nbstripout --install --attributes .gitattributes >/dev/null 2>&1 \
	   && git config filter.nbstripout.clean '$(NBSTRIPOUT)' \
	   && git config diff.ipynb.textconv '$(NBSTRIPOUT) -t' \
	   && git config filter.nbstripout.required false; then \
	  echo "git filter nbstripout installed: notebook outputs are stripped on commit"; \
	else \
	  echo "note: could not configure git's nbstripout filter here; notebook outputs are not stripped on commit"; \
	fi

clean-venv:
	rm -rf $(VENV)
