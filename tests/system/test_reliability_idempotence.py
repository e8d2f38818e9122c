"""Idempotence, checked through the store with the full payload dicts (not only counts or ids).

Ingesting the same corpus twice is tests/system/test_foundation.py::test_reingest_is_idempotent (passages and
document info through the store adapter); here: the raw payloads read from the Qdrant Edge shard, after
a second ingest and after a forced one, and a crawl of an unchanged site run twice (the incremental
crawl tests compare point counts per document, not payloads).
"""

from __future__ import annotations

from pathlib import Path

from crawlsite import CountingEmbedder, FixtureSite, Page, german_page, make_pdf, paragraph, run_crawl, sources_toml
from test_fault_support import make_corpus, raw_payloads

from core.model.embedding import HashingEmbedder
from core.settings import Settings
from ingest.discovery import discover
from ingest.pipeline import inline_parser
from runtime import open_runtime


def test_ingesting_twice_and_forced_keeps_every_payload(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    items, _ = discover([make_corpus(tmp_path / "corpus")])
    with open_runtime(settings, embedder=HashingEmbedder(64)) as rt:
        rt.indexer.parser = inline_parser
        assert rt.indexer.ingest(items).passages_written > 0
    first = raw_payloads(settings)
    with open_runtime(settings, embedder=HashingEmbedder(64)) as rt:
        rt.indexer.parser = inline_parser
        assert rt.indexer.ingest(items).passages_written == 0
    assert raw_payloads(settings) == first  # read after the runtime closed: one opener at a time
    with open_runtime(settings, embedder=HashingEmbedder(64)) as rt:
        rt.indexer.parser = inline_parser
        assert rt.indexer.ingest(items, force=True).passages_written == len(first)
    assert raw_payloads(settings) == first


def build(site: FixtureSite) -> None:
    links = ["/a", "/b", "/bericht.pdf", "/en"]
    site.pages["/"] = Page(german_page("Förderprogramme", "die Übersicht", links, paragraphs=1))
    site.pages["/a"] = Page(german_page("Projekt A", "das Projekt A"))
    site.pages["/b"] = Page(german_page("Projekt B", "das Projekt B", paragraphs=5))
    site.pages["/bericht.pdf"] = Page(
        make_pdf("Jahresbericht", [paragraph("der Jahresbericht", 5)] * 3), content_type="application/pdf"
    )
    site.pages["/en"] = Page(german_page("Invest in the Ruhr", "the structural change"), etag=False)
    site.sitemap_pages = ["/"]


def test_crawling_an_unchanged_site_twice_keeps_every_payload(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", allow_private_networks=True)
    with FixtureSite(crawl_delay=0) as site:
        build(site)
        toml = sources_toml(site, name="gleich")
        with open_runtime(settings, embedder=CountingEmbedder()) as rt:
            first_report = run_crawl(rt, toml).source("gleich")
        assert first_report.new == 5
        first = raw_payloads(settings)
        with open_runtime(settings, embedder=CountingEmbedder()) as rt:
            second_report = run_crawl(rt, toml).source("gleich")
        assert (second_report.new, second_report.changed, second_report.deleted) == (0, 0, 0)
    second = raw_payloads(settings)
    assert second.keys() == first.keys() and len(first) > 5
    assert second == first
