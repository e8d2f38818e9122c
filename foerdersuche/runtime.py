"""Wiring: builds the components of a run from the Settings. Used by the entry points only
(CLI ``main``, the API lifespan, evaluation scripts); nothing here runs at import time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import cached_property

from core.embedding import Embedder, load_runtime_embedder
from core.gazetteer import Gazetteer, load_gazetteer
from core.rawstore import RawStore
from core.registry import Registry
from core.settings import Settings
from core.store.base import Store
from core.store.factory import open_store
from ingest.isolation import ParserPool
from ingest.pipeline import Indexer, RefreshReport
from search.engine import Searcher, SearchOptions
from search.register import Register, build_register


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
            self._embedder = load_runtime_embedder(self.settings)
        return self._embedder

    @cached_property
    def indexer(self) -> Indexer:
        from ingest.isolation import ParserPool
        from ingest.pipeline import pool_parser

        pool = self._stack.enter_context(ParserPool.from_settings(self.settings, workers=1))
        self.parser_pool = pool
        return Indexer(
            settings=self.settings,
            embedder=self.embedder,
            store=self.store,
            registry=self.registry,
            raw=self.raw,
            gazetteer=self.gazetteer,
            parser=pool_parser(pool),
        )

    @cached_property
    def searcher(self) -> Searcher:
        return Searcher(embedder=self.embedder, store=self.store, gazetteer=self.gazetteer)

    def register(self, on_progress: Callable[[int, int, str], None] | None = None) -> Register:
        """The register of funding facts and projects (see ``load_register``)."""
        register, self.last_refresh = _register(self.settings, self.registry, self.raw, self.gazetteer, on_progress)
        return register

    def search_options(self) -> SearchOptions:
        s = self.settings
        return SearchOptions(
            mode=s.search_mode,
            fusion=s.fusion,
            dense_weight=s.dense_weight,
            prefetch_limit=s.prefetch_limit,
            place_boost=s.place_boost,
        )


def _register(
    settings: Settings,
    registry: Registry,
    raw: RawStore,
    gazetteer: Gazetteer,
    on_progress: Callable[[int, int, str], None] | None,
) -> tuple[Register, RefreshReport | None]:
    from core.facts import INTEL_VERSION
    from ingest.isolation import ParserPool
    from ingest.pipeline import pool_parser, refresh_register

    refreshed = None
    if registry.stale_intel(INTEL_VERSION):
        with ParserPool.from_settings(settings, workers=1) as pool:
            refreshed = refresh_register(registry, raw, gazetteer, pool_parser(pool), on_progress)
    return build_register(registry.intel_rows(), gazetteer), refreshed


def load_register(
    settings: Settings, on_progress: Callable[[int, int, str], None] | None = None
) -> tuple[Register, Gazetteer, RefreshReport | None]:
    """The register of ``settings.data_dir`` without opening the index: documents indexed before the
    register existed (or by older extraction rules) are re-enriched from their kept raw bytes first.
    Reads only the registry (SQLite, shared safely with a running server) and the raw files."""
    gazetteer = load_gazetteer()
    with Registry(settings.registry_path) as registry:
        register, refreshed = _register(settings, registry, RawStore(settings.raw_dir), gazetteer, on_progress)
    return register, gazetteer, refreshed


@contextmanager
def open_runtime(settings: Settings, embedder: Embedder | None = None) -> Iterator[Runtime]:
    """Open store and registry of ``settings.data_dir``; close them (and parser workers) on exit."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings)
    try:
        registry = Registry(settings.registry_path)
        rt = Runtime(
            settings=settings,
            store=store,
            registry=registry,
            raw=RawStore(settings.raw_dir),
            gazetteer=load_gazetteer(),
            _embedder=embedder,
        )
        with rt._stack:
            yield rt
        registry.close()
    finally:
        store.close()
