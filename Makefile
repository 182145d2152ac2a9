# The study's two entry points (see README):
#   make reproduce [PROFILE=demo]   set up, then run the notebook sequence with papermill
#   make test                       set up, then run the test suite
# Set-up is automatic and idempotent: a virtual environment in .venv with the
# pinned dependencies and a Jupyter kernel named python3 inside it.

PYTHON  ?= python3
PROFILE ?= demo
# cpu (tensorflow-cpu) or gpu (tensorflow[and-cuda]); see README "Using a GPU"
TF      ?= cpu
VENV    := .venv
STAMP   := $(VENV)/.installed-$(TF)
OTHER_TF := $(if $(filter gpu,$(TF)),cpu,gpu)
PY      := $(VENV)/bin/python

.PHONY: setup reproduce test lab clean-venv

setup: $(STAMP)

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
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (mer)" >/dev/null
	@rm -f $(VENV)/.installed-*
	@touch $@
	@echo "environment ready in $(VENV) (TensorFlow: $(TF))"

reproduce: setup
	$(PY) -m mer_utils.run --profile $(PROFILE) $(if $(SET),$(foreach s,$(SET),--set $(s)))

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lab: setup
	JUPYTER_PATH=$(VENV)/share/jupyter $(VENV)/bin/jupyter lab notebooks/

clean-venv:
	rm -rf $(VENV)
