"""The composition root: the one place that builds the components of a run from the ``Settings``.

Every entry point gets its parts from here: the CLI (``foerdersuche``), the API's lifespan and admin
jobs (``api``), the evaluation and the benchmarks (``evaluation``). Nothing else constructs an
embedder, a store, a searcher, an indexer, a parser pool or a crawler (``tests/system/test_architecture.py``
checks it). Nothing here runs at import time.

    build_gazetteer()                     the places, programs and organisations (corpus/gazetteer)
    build_embedder(settings[, kind])      the dense model of a process (queries by the query backend;
                                          the server's embeds passages in a child process)
    build_store(settings)                 Qdrant Edge in the data dir, or the configured server
    build_searcher(embedder, store, gaz)  hybrid retrieval
    search_options(settings)              the settings' default search options
    build_parser(settings, stack)         isolated parse workers (time and memory limits)
    build_indexer(...)                    ingest into the index
    build_crawler(indexer, ...)           the polite crawler feeding an indexer
    open_runtime(settings)                all of them for one CLI run, closed on exit
    load_register(settings)               the register of funding facts and projects, index not opened
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Literal

from core.analysis import AnalyserConfig
from core.gazetteer import Gazetteer, load_gazetteer
from core.model.embedding import Embedder, HashingEmbedder, load_embedder, load_runtime_embedder
from core.rawstore import RawStore
from core.registry import Registry
from core.settings import Settings
from core.store.base import Store
from core.store.factory import open_store
from ingest.isolation import ParserPool
from ingest.pipeline import Indexer, Parser, pool_parser
from ingest.report import RefreshReport
from search.engine import Searcher, SearchOptions
from search.register import Register, build_register

if TYPE_CHECKING:
    import httpx

    from ingest.crawl.crawler import Crawler, CrawlEvent
    from ingest.crawl.frontier import Frontier
    from ingest.crawl.sources import CrawlOptions

EmbedderKind = Literal["model", "hashing"]


# --- builders


def build_gazetteer() -> Gazetteer:
    return load_gazetteer()


def build_embedder(
    settings: Settings, kind: EmbedderKind = "model", backend: str | None = None, *, serving: bool = False
) -> Embedder:
    """The configured model (``hashing``: the deterministic model-free stand-in, for quick checks);
    ``backend`` loads one backend of it for both sides (the benchmarks compare them); ``serving``: the
    server's, whose passages (admin jobs) are embedded in a child process (``core.model.worker``)."""
    if kind == "hashing":
        return HashingEmbedder()
    if backend is not None:
        return load_embedder(settings, backend=backend)
    return load_runtime_embedder(settings, passages_in_worker=serving)


def build_store(settings: Settings) -> Store:
    return open_store(settings)


def build_searcher(
    embedder: Embedder, store: Store, gazetteer: Gazetteer, analyser: AnalyserConfig | None = None
) -> Searcher:
    return Searcher(embedder=embedder, store=store, gazetteer=gazetteer, analyser=analyser or AnalyserConfig())


def search_options(settings: Settings) -> SearchOptions:
    return SearchOptions(
        mode=settings.search_mode,
        fusion=settings.fusion,
        dense_weight=settings.dense_weight,
        prefetch_limit=settings.prefetch_limit,
        place_boost=settings.place_boost,
    )


def build_parser(settings: Settings, stack: ExitStack, workers: int = 2) -> Parser:
    """Parse workers under the settings' time and memory limits, stopped with ``stack``."""
    pool = stack.enter_context(ParserPool.from_settings(settings, workers=workers))
    return pool_parser(pool)


def build_indexer(
    settings: Settings,
    embedder: Embedder,
    store: Store,
    registry: Registry,
    raw: RawStore,
    gazetteer: Gazetteer,
    parser: Parser,
    analyser: AnalyserConfig | None = None,
) -> Indexer:
    return Indexer(
        settings=settings,
        embedder=embedder,
        store=store,
        registry=registry,
        raw=raw,
        gazetteer=gazetteer,
        parser=parser,
        analyser=analyser or AnalyserConfig(),
    )


def build_crawler(
    settings: Settings,
    indexer: Indexer,
    frontier: Frontier,
    client: httpx.Client,
    options: CrawlOptions,
    on_event: Callable[[CrawlEvent], None] | None = None,
) -> Crawler:
    from ingest.crawl.crawler import Crawler

    return Crawler(
        indexer=indexer,
        frontier=frontier,
        client=client,
        options=options,
        user_agent=settings.user_agent,
        max_bytes=settings.max_file_bytes,
        allow_private_networks=settings.allow_private_networks,
        on_event=on_event,
    )


# --- the register


def refresh_stale_register(
    settings: Settings,
    registry: Registry,
    raw: RawStore,
    gazetteer: Gazetteer,
    on_progress: Callable[[int, int, str], None] | None = None,
    parser_factory: Callable[[Settings, ExitStack], Parser] | None = None,
) -> RefreshReport | None:
    """Re-enrich documents whose register rows are missing or older than the rules, from their raw
    bytes in isolated parse workers (None: nothing was stale)."""
    from core.facts import INTEL_VERSION
    from ingest.pipeline import refresh_register

    if not registry.stale_intel(INTEL_VERSION):
        return None
    with ExitStack() as stack:
        parser = (parser_factory or (lambda s, st: build_parser(s, st, workers=1)))(settings, stack)
        return refresh_register(registry, raw, gazetteer, parser, on_progress)


def refresh_and_build_register(
    settings: Settings,
    registry: Registry,
    raw: RawStore,
    gazetteer: Gazetteer,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> tuple[Register, RefreshReport | None]:
    """``refresh_stale_register``, then the register linked over every document."""
    refreshed = refresh_stale_register(settings, registry, raw, gazetteer, on_progress)
    return build_register(registry.intel_rows(), gazetteer), refreshed


def load_register(
    settings: Settings, on_progress: Callable[[int, int, str], None] | None = None
) -> tuple[Register, Gazetteer, RefreshReport | None]:
    """The register of ``settings.data_dir`` without opening the index: documents indexed before the
    register existed (or by older extraction rules) are re-enriched from their kept raw bytes first.
    Reads only the registry (SQLite, shared safely with a running server) and the raw files."""
    gazetteer = build_gazetteer()
    with Registry(settings.registry_path) as registry:
        register, refreshed = refresh_and_build_register(
            settings, registry, RawStore(settings.raw_dir), gazetteer, on_progress
        )
    return register, gazetteer, refreshed


# --- one CLI run


@dataclass
class Runtime:
    settings: Settings
    store: Store
    registry: Registry
    raw: RawStore
    gazetteer: Gazetteer
    _embedder: Embedder | None = None
    parser_pool: ParserPool | None = None  # the indexer's parse workers, once it is built
    last_refresh: RefreshReport | None = None
    _stack: ExitStack = field(default_factory=ExitStack)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = build_embedder(self.settings)
        return self._embedder

    @cached_property
    def indexer(self) -> Indexer:
        pool = self._stack.enter_context(ParserPool.from_settings(self.settings, workers=1))
        self.parser_pool = pool
        return build_indexer(
            self.settings, self.embedder, self.store, self.registry, self.raw, self.gazetteer, pool_parser(pool)
        )

    @cached_property
    def searcher(self) -> Searcher:
        return build_searcher(self.embedder, self.store, self.gazetteer)

    def register(self, on_progress: Callable[[int, int, str], None] | None = None) -> Register:
        """The register of funding facts and projects (see ``load_register``)."""
        register, self.last_refresh = refresh_and_build_register(
            self.settings, self.registry, self.raw, self.gazetteer, on_progress
        )
        return register

    def search_options(self) -> SearchOptions:
        return search_options(self.settings)


@contextmanager
def open_runtime(settings: Settings, embedder: Embedder | None = None) -> Iterator[Runtime]:
    """Open store and registry of ``settings.data_dir``; close them (and parser workers) on exit."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = build_store(settings)
    try:
        registry = Registry(settings.registry_path)
        rt = Runtime(
            settings=settings,
            store=store,
            registry=registry,
            raw=RawStore(settings.raw_dir),
            gazetteer=build_gazetteer(),
            _embedder=embedder,
        )
        with rt._stack:
            yield rt
        registry.close()
    finally:
        store.close()
