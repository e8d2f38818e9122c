"""Wiring: builds the components of a run from the Settings. Used by the entry points only
(CLI ``main``, the API lifespan, evaluation scripts); nothing here runs at import time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import cached_property

from core.embedding import Embedder, load_embedder
from core.gazetteer import Gazetteer, load_gazetteer
from core.rawstore import RawStore
from core.registry import Registry
from core.settings import Settings
from core.store.base import Store
from core.store.factory import open_store
from ingest.pipeline import Indexer
from search.engine import Searcher, SearchOptions


@dataclass
class Runtime:
    settings: Settings
    store: Store
    registry: Registry
    raw: RawStore
    gazetteer: Gazetteer
    _embedder: Embedder | None = None
    _stack: ExitStack = field(default_factory=ExitStack)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.settings)
        return self._embedder

    @cached_property
    def indexer(self) -> Indexer:
        from ingest.isolation import ParserPool
        from ingest.pipeline import pool_parser

        pool = self._stack.enter_context(ParserPool.from_settings(self.settings, workers=1))
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

    def search_options(self) -> SearchOptions:
        s = self.settings
        return SearchOptions(
            mode=s.search_mode,
            fusion=s.fusion,
            dense_weight=s.dense_weight,
            prefetch_limit=s.prefetch_limit,
            place_boost=s.place_boost,
        )


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
