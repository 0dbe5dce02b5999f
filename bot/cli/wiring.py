"""The composition root's builders: settings in, engine and bot services out."""

from __future__ import annotations

from bot.answering import MIN_SIMILARITY, Answerer
from bot.catalog import Catalog
from bot.client import Services
from bot.composers import ExtractiveComposer, LLMComposer
from bot.llm import ChatClient, LLMSettings
from bot.progress import ReadingProgress
from bot.prompts import load_prompts
from bot.recap import SummaryCache
from bot.settings import Settings
from index.chunking import ChunkParams
from index.embedding import SentenceTransformerEmbedder
from index.errors import InputError, LibraryError
from index.onnx_encoder import SETTING_FOR, Encoder, compatible
from index.rerank import Reader, load_reader
from index.search import Searcher
from index.sqlite_io import check_writable
from index.store import DB_NAME, Library


def embedder(settings: Settings, *, threads: int, fast: bool = False) -> SentenceTransformerEmbedder:
    """The embedding model with the library's encoder; ``fast`` sends questions through ONNX Runtime."""
    encoder = encoder_setting(settings)
    onnx = fast or encoder != "torch"
    return SentenceTransformerEmbedder(
        settings.embedding_model,
        threads=threads,
        query_cache_dir=settings.cache_dir if onnx else None,
        encoder=encoder,
        bulk_threads=settings.ingest_threads or None,
    )


def encoder_setting(settings: Settings) -> Encoder:
    """STORYBOT_ENCODER when set; otherwise an existing library's own encoder, else the default.

    A library made before encoders were recorded holds torch's vectors; the fp32 export makes the
    same vectors (cosine >= 0.9999, checked at every load), faster, so such a library uses it.
    """
    if "encoder" in settings.model_fields_set:
        return settings.encoder
    stored = stored_encoder(settings)
    if stored is None:
        return settings.encoder
    return "fp32" if compatible(stored, "onnx-fp32") else SETTING_FOR.get(stored, settings.encoder)


def stored_encoder(settings: Settings) -> str | None:
    """What made an existing library's vectors, or None when there is no readable library."""
    try:
        manifest = Library.peek_manifest(settings.data_dir)
    except LibraryError:  # opening it later says what is wrong
        return None
    return manifest.encoder if manifest is not None else None


def passage_reader(settings: Settings) -> Reader | None:
    """The trained reranker, unless STORYBOT_RERANK=false."""
    return load_reader(threads=settings.reader_threads) if settings.rerank else None


def reader(settings: Settings) -> tuple[SentenceTransformerEmbedder, Searcher]:
    """A searcher over an existing library; a missing library fails before the model loads."""
    data_dir = settings.data_dir
    Library.open(data_dir).close()
    model = embedder(settings, threads=settings.query_threads, fast=True)
    library = Library.open(data_dir, model.model_id, model.encoder)
    return model, Searcher(library, model, reader=passage_reader(settings))


def answerer(settings: Settings) -> Answerer:
    """The question answerer over an existing library."""
    model, searcher = reader(settings)
    return Answerer(searcher, model, min_similarity=MIN_SIMILARITY)


def llm_composer(settings: Settings, *, required: bool = False) -> LLMComposer | None:
    """The LLM composer for the configured endpoint; None (or an error, if ``required``) without one."""
    if not settings.llm_base_url:
        if required:
            raise InputError(
                "set STORYBOT_LLM_BASE_URL (and STORYBOT_LLM_MODEL) to use an LLM; see the README"
            )
        return None
    client = ChatClient(
        LLMSettings(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            timeout=settings.llm_timeout,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
        )
    )
    return LLMComposer(client, load_prompts(settings.prompts_dir), ExtractiveComposer())


def services(settings: Settings) -> Services:
    """The bot's engine: a library that may start empty (stories can be added from Discord)."""
    # A wrong volume should fail at once, not after the seconds the models take to load.
    check_writable(settings.data_dir)
    model = embedder(settings, threads=settings.query_threads, fast=True)
    library = Library.create_or_open(
        settings.data_dir, model.model_id, model.dimension, ChunkParams(), model.encoder
    )
    db = settings.data_dir / DB_NAME
    catalog = Catalog(
        library,
        Answerer(
            Searcher(library, model, reader=passage_reader(settings)), model, min_similarity=MIN_SIMILARITY
        ),
        ReadingProgress(db),
        shared_stories=settings.shared_stories,
        summaries=SummaryCache(db),
        summary_model=settings.llm_model if settings.llm_base_url else "",
    )
    return Services(catalog, llm_composer(settings) if settings.llm_answers else None)
