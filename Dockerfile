# Minimal image for the CLI; the self-hosting issue adds the bot entry point, healthcheck and layer tuning.
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    STORYBOT_DATA_DIR=/data

WORKDIR /app
# The CPU build of torch: the default one pulls several GB of CUDA libraries.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY pyproject.toml README.md ./
COPY index ./index
COPY bot ./bot
# bot/prompt_templates links to prompts/: the LLM composer's templates ship as package data.
COPY prompts ./prompts
RUN pip install .

RUN useradd --create-home --uid 10001 storybot && mkdir /data && chown storybot /data
USER storybot
VOLUME ["/data"]
ENTRYPOINT ["storybot"]
CMD ["list"]
