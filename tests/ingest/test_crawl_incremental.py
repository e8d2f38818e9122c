"""Incremental re-crawls: conditional requests, and exactly the changed, new and deleted documents
touch the index (counted in the store and by an embedder that records every text it embeds)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from crawlsite import (
    CountingEmbedder,
    FixtureSite,
    Page,
    german_page,
    http_date,
    make_pdf,
    paragraph,
    points_per_doc,
    run_crawl,
    sources_toml,
)

from core.ids import doc_id_for
from core.settings import Settings
from ingest.crawl.crawler import CrawlEvent
from ingest.crawl.frontier import Frontier
from ingest.crawl.report import SourceReport
from ingest.crawl.status import frontier_path
from runtime import Runtime, open_runtime


def build(site: FixtureSite) -> None:
    links = ["/a", "/b", "/c", "/d.pdf", "/e", "/f", "/g"]
    site.pages["/"] = Page(german_page("Förderprogramme", "die Übersicht", links, paragraphs=1))
    site.pages["/a"] = Page(german_page("Projekt A", "das Projekt A"))
    site.pages["/b"] = Page(german_page("Projekt B", "das Projekt B"))
    site.pages["/c"] = Page(german_page("Projekt C", "das Projekt C"))
    site.pages["/d.pdf"] = Page(
        make_pdf("Bericht D", [paragraph("der Bericht D", 5)] * 2), content_type="application/pdf"
    )
    site.pages["/e"] = Page(german_page("Projekt E", "das Projekt E"), etag=False, last_modified=http_date(1.7e9))
    site.pages["/f"] = Page(german_page("Projekt F", "das Projekt F"), etag=False)  # no validators at all
    site.pages["/g"] = Page(german_page("Projekt G", "das Projekt G"))
    site.sitemap_pages = ["/"]
    mark_pages(site)


def mark_pages(site: FixtureSite) -> None:
    """Make every body unique to this site: the module's tests share one index, and identical bytes at
    another URL would (rightly) be skipped as duplicates."""
    for page in site.pages.values():
        tail = b"\n%% site %d" if page.body.startswith(b"%PDF") else b"\n<!-- site %d -->"
        if not page.body.endswith(tail % site.port):
            page.body += tail % site.port


@dataclass
class Env:
    site: FixtureSite
    rt: Runtime
    embedder: CountingEmbedder
    toml: str
    name: str

    def crawl(self, events: list[CrawlEvent] | None = None) -> SourceReport:
        return run_crawl(self.rt, self.toml, on_event=events.append if events is not None else None).source(self.name)

    def points(self) -> Counter[str]:
        return points_per_doc(self.rt.store, self.site)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, CountingEmbedder]]:
    """One index for the module (parser workers start once); every test crawls its own site and source."""
    embedder = CountingEmbedder()
    settings = Settings(data_dir=tmp_path_factory.mktemp("incremental"), allow_private_networks=True)
    with open_runtime(settings, embedder=embedder) as rt:
        yield rt, embedder


@pytest.fixture
def env(runtime: tuple[Runtime, CountingEmbedder], request: pytest.FixtureRequest) -> Iterator[Env]:
    rt, embedder = runtime
    embedder.texts.clear()
    with FixtureSite(crawl_delay=0.02) as site:
        build(site)
        name = request.node.name.removeprefix("test_").replace("_", "-")[:60]
        yield Env(site, rt, embedder, sources_toml(site, name=name), name)


def test_only_what_changed_is_re_embedded(env: Env) -> None:
    site, rt, embedder = env.site, env.rt, env.embedder
    first = env.crawl()
    assert (first.new, first.changed, first.deleted, first.not_modified) == (8, 0, 0, 0)
    before = env.points()
    assert len(before) == 8 and len(embedder.texts) == sum(before.values())

    # change B, delete C (404) and G (410), add a page that only the sitemap names
    site.pages["/b"] = Page(german_page("Projekt B", "das erweiterte Projekt B", paragraphs=4))
    del site.pages["/c"]
    site.pages["/g"] = Page(b"Entfernt", status=410, content_type="text/plain")
    site.pages["/neu"] = Page(german_page("Neues Projekt", "das neue Projekt"))
    site.sitemap_pages = ["/", "/neu"]
    mark_pages(site)
    embedder.texts.clear()
    requests_before = len(site.requests)
    events: list[CrawlEvent] = []

    second = env.crawl(events)

    assert (second.new, second.changed, second.deleted) == (1, 1, 2)
    assert second.not_modified == 5  # /, A, D, E by 304; F by the same bytes
    after = env.points()
    b, c, g, new = (doc_id_for(site.url(p)) for p in ("/b", "/c", "/g", "/neu"))
    assert c not in after and g not in after
    assert {k: v for k, v in after.items() if k not in (b, new)} == {
        k: v for k, v in before.items() if k not in (b, c, g)
    }
    assert sorted(embedder.texts) == sorted(p.text for d in (b, new) for p, _ in rt.store.passages_of(d))
    b_text = " ".join(p.text for p, _ in rt.store.passages_of(b))
    assert "das erweiterte Projekt B (Teil 4)" in b_text and "das Projekt B (Teil" not in b_text  # no old passage left
    assert rt.registry.get(site.url("/c")).deleted and rt.registry.get(site.url("/g")).deleted  # type: ignore[union-attr]
    assert {e.url for e in events if e.what == "fetched"} == {site.url(p) for p in ("/b", "/f", "/neu")} - {
        site.url("/f")
    }

    # the re-crawl asked conditionally
    recrawl = site.requests[requests_before:]
    by_path = {r.path: r.headers for r in recrawl}
    assert "If-None-Match" in by_path["/a"] and "If-None-Match" in by_path["/d.pdf"]
    assert by_path["/e"].get("If-Modified-Since") == http_date(1.7e9)
    assert "If-None-Match" not in by_path["/f"] and "If-Modified-Since" not in by_path["/f"]

    # a third crawl of an unchanged site embeds nothing and hands nothing to the Indexer
    embedder.texts.clear()
    events.clear()
    third = env.crawl(events)
    assert (third.new, third.changed, third.deleted, third.not_modified) == (0, 0, 0, 7)
    assert embedder.texts == [] and not [e for e in events if e.what == "fetched"]
    assert env.points() == after
    assert site.fetched("/c") == 2  # a document once gone is not asked for again unless linked anew


def test_gone_documents_come_back_when_linked_again(env: Env) -> None:
    site, rt = env.site, env.rt
    env.crawl()
    page_c = site.pages.pop("/c")
    assert env.crawl().deleted == 1
    site.pages["/c"] = page_c
    site.pages["/"] = Page(german_page("Förderprogramme", "die neue Übersicht", ["/a", "/c"], paragraphs=1))
    mark_pages(site)
    again = env.crawl()
    assert again.new == 1 and again.changed == 1  # C (new again) and the changed start page
    assert rt.registry.get(site.url("/c")).deleted is False  # type: ignore[union-attr]


def test_a_page_that_moved_is_replaced_by_its_target(env: Env) -> None:
    site, rt = env.site, env.rt
    env.crawl()
    site.pages["/a-neu"] = site.pages.pop("/a")
    site.redirects["/a"] = (301, "/a-neu")
    moved = env.crawl()
    assert (moved.new, moved.deleted) == (1, 1)
    assert rt.registry.get(site.url("/a")).deleted  # type: ignore[union-attr]
    assert rt.registry.get(site.url("/a-neu")).status == "indexed"  # type: ignore[union-attr]
    with Frontier(frontier_path(rt.settings.data_dir)) as frontier:
        row = frontier.get(site.url("/a"))
        assert row is not None and row.outcome == "redirected"


def test_stale_validators_without_an_indexed_copy_refetch(env: Env) -> None:
    """The index lost a document the frontier still has validators for: a 304 must not hide it."""
    site, rt = env.site, env.rt
    env.crawl()
    rt.indexer.remove(site.url("/a"), "lost in a test")
    report = env.crawl()
    assert report.new == 1
    assert rt.registry.get(site.url("/a")).status == "indexed"  # type: ignore[union-attr]
    assert env.points()[doc_id_for(site.url("/a"))] > 0


def test_removals_during_a_crawl_recluster_near_duplicates_once(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crawl that removes several pages recomputes the near-duplicate clusters once, at its end, and
    the surviving copy of a removed duplicate no longer names it."""
    site, rt = env.site, env.rt
    links = ["/a", "/b", "/c", "/d.pdf", "/e", "/f", "/g", "/h", "/h-kopie"]
    site.pages["/"] = Page(german_page("Förderprogramme", "die Übersicht", links, paragraphs=1))
    site.pages["/h"] = Page(german_page("Pressemitteilung H", "die Pressemitteilung H", paragraphs=4))
    site.pages["/h-kopie"] = Page(german_page("Pressemitteilung H (Kopie)", "die Pressemitteilung H", paragraphs=4))
    mark_pages(site)
    env.crawl()
    h, kopie = doc_id_for(site.url("/h")), doc_id_for(site.url("/h-kopie"))
    docs = {d.doc_id: d for d in (rt.store.passages_of(x)[0][1] for x in (h, kopie))}
    assert docs[kopie].near_duplicate_of == h or docs[h].near_duplicate_of == kopie

    calls: list[int] = []
    original = rt.indexer.mark_near_duplicates
    monkeypatch.setattr(rt.indexer, "mark_near_duplicates", lambda: calls.append(1) or original())
    site.pages["/h-kopie"] = Page(b"Entfernt", status=410, content_type="text/plain")
    del site.pages["/c"]
    site.pages["/g"] = Page(b"Entfernt", status=410, content_type="text/plain")
    report = env.crawl()

    assert report.deleted == 3
    assert len(calls) == 1
    survivor = rt.store.passages_of(h)[0][1]
    assert survivor.near_duplicate_of is None and survivor.also_published_at == ()
    assert rt.store.passages_of(kopie) == []
