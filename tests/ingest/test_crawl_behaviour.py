"""One crawl of the fixture site (tests/crawlsite.py) through the real pipeline (isolated parsers, the
embedded Qdrant Edge store, the hashing embedder), then every behaviour asserted on the report, the
registry, the index and the server's request log."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from crawlsite import (
    CountingEmbedder,
    FixtureSite,
    Page,
    build_behaviour_site,
    german_page,
    html_page,
    points_per_doc,
    run_crawl,
    sources_toml,
)

from core.ids import doc_id_for
from core.settings import Settings
from ingest.crawl.report import CrawlReport, SourceReport
from ingest.crawl.status import source_status
from ingest.reindex import reindex
from runtime import Runtime, open_runtime


@dataclass
class Crawled:
    site: FixtureSite
    rt: Runtime
    report: CrawlReport
    seconds: float

    @property
    def source(self) -> SourceReport:
        return self.report.source("musterkreis")

    def failure(self, path: str) -> str:
        url = self.site.url(path)
        reasons = [f.reason for f in self.source.failed if f.url == url]
        assert len(reasons) == 1, (path, self.source.failed)
        return reasons[0]

    def doc(self, path: str) -> Any:
        return self.rt.registry.get(self.site.url(path))


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    import time

    data_dir: Path = tmp_path_factory.mktemp("crawl-data")
    with FixtureSite(crawl_delay=0.2) as site:
        build_behaviour_site(site, other_host="localhost")
        settings = Settings(data_dir=data_dir, allow_private_networks=True)
        with open_runtime(settings, embedder=CountingEmbedder()) as rt:
            _ = rt.indexer  # start the parser workers before the clock runs
            started = time.monotonic()
            report = run_crawl(rt, sources_toml(site, start="/foerderung/", max_depth=2))
            yield Crawled(site, rt, report, time.monotonic() - started)


INDEXED = [
    "/",
    "/foerderung",
    "/projekte/ecotechub",
    "/projekte/kraftwerk",
    "/projekte/fortschritt",
    "/instabil",
    "/gedrosselt",
    "/bericht-2021",
    "/en/about",
    "/nur-in-sitemap",
    "/nur-ueber-vorschau",
]


def test_the_report(crawled: Crawled) -> None:
    src = crawled.source
    assert (src.new, src.changed, src.deleted, src.not_modified) == (len(INDEXED), 0, 0, 0)
    assert src.fetched == len(INDEXED) + 3  # + the print copy (a duplicate) and the two noindex documents
    assert dict(src.skipped) == {"robots": 1, "offsite": 1, "asset": 1, "duplicate": 1, "noindex": 2}
    assert src.skipped_by_robots == 1
    assert src.passages_written == sum(points_per_doc(crawled.rt.store).values())
    assert not src.resumed
    totals = crawled.report.totals()
    assert totals["new"] == len(INDEXED) and totals["failed"] == len(src.failed)
    as_json = crawled.report.to_dict()
    assert as_json["totals"] == totals and as_json["sources"][0]["skipped_by_robots"] == 1  # type: ignore[index]


def test_indexed_under_canonical_urls_with_stable_ids(crawled: Crawled) -> None:
    live = {r.source: r for r in crawled.rt.registry.all()}
    assert set(live) == {crawled.site.url(p) for p in INDEXED}
    per_doc = points_per_doc(crawled.rt.store)
    for url, record in live.items():
        assert record.status == "indexed" and record.source_name == "musterkreis"
        assert record.doc_id == doc_id_for(url)
        assert per_doc[record.doc_id] == record.passages > 0


def test_robots_txt_is_honoured(crawled: Crawled) -> None:
    assert crawled.site.fetched("/intern/entwurf") == 0
    assert crawled.site.fetched("/robots.txt") == 1


def test_the_crawl_delay_spaces_every_request(crawled: Crawled) -> None:
    starts = sorted(r.at for r in crawled.site.requests)[1:]  # after robots.txt, which tells the delay
    # measured where the server reads the request, so one request may arrive late (a new connection,
    # a busy machine) and the next on time; such jitter does not add up over a run of requests
    jitter = 0.15
    for i, a in enumerate(starts):
        for j in range(i + 1, len(starts)):
            assert starts[j] - a >= (j - i) * 0.2 - jitter, (i, j, starts[j] - a)


def test_every_request_names_the_crawler(crawled: Crawled) -> None:
    agents = {r.headers.get("User-Agent") for r in crawled.site.requests}
    assert agents == {Settings().user_agent}
    assert "kontakt@" in Settings().user_agent


def test_sitemaps_are_discovered(crawled: Crawled) -> None:
    for path in ("/sitemap.xml", "/sitemaps/index.xml", "/sitemaps/seiten.xml"):
        assert crawled.site.fetched(path) == 1
    assert crawled.doc("/nur-in-sitemap") is not None  # linked from nowhere


def test_a_redirect_indexes_the_target(crawled: Crawled) -> None:
    assert crawled.doc("/alt/fortschritt") is None
    assert crawled.doc("/projekte/fortschritt").status == "indexed"
    assert crawled.site.fetched("/projekte/fortschritt") == 1  # fetched once, through the redirect


def test_redirect_loops_and_long_chains_fail(crawled: Crawled) -> None:
    assert "redirect loop" in crawled.failure("/schleife/a")
    assert "more than 5 redirects" in crawled.failure("/kette/0")
    assert crawled.site.fetched("/kette/6") == 0


def test_a_404_is_a_broken_link(crawled: Crawled) -> None:
    assert crawled.failure("/fehlt") == "HTTP 404 (broken link)"


def test_a_500_recovers_on_retry(crawled: Crawled) -> None:
    assert crawled.site.fetched("/instabil") == 2
    assert crawled.doc("/instabil").status == "indexed"


def test_a_429_waits_for_retry_after(crawled: Crawled) -> None:
    first, second = crawled.site.requests_for("/gedrosselt")
    assert second.at - first.at >= 0.8  # Retry-After: 1 (server-side times: allow for a late first arrival)
    assert crawled.doc("/gedrosselt").status == "indexed"


def test_a_slow_endpoint_times_out(crawled: Crawled) -> None:
    assert crawled.failure("/langsam").startswith("timeout")
    assert crawled.site.fetched("/langsam") == 1  # timeouts are not retried


def test_oversized_responses_are_cut_off(crawled: Crawled) -> None:
    assert "Content-Length" in crawled.failure("/gross.pdf")
    assert "download aborted" in crawled.failure("/gross-ohne-laenge")


def test_a_pdf_served_as_html_is_parsed_as_pdf(crawled: Crawled) -> None:
    record = crawled.doc("/bericht-2021")
    assert record.media_type == "application/pdf"
    texts = [p.text for p, _ in crawled.rt.store.passages_of(record.doc_id)]
    assert any("Fortschrittsbericht" in t for t in texts)
    assert all(page is not None for page in (p.page for p, _ in crawled.rt.store.passages_of(record.doc_id)))


def test_another_host_is_never_contacted(crawled: Crawled) -> None:
    assert not [r for r in crawled.site.requests if r.host.startswith("localhost")]
    assert "host localhost is not allowed" in crawled.failure("/extern-weiter")  # also not via a redirect


def test_tracking_variants_are_fetched_once(crawled: Crawled) -> None:
    variants = [r.path for r in crawled.site.requests if r.path.startswith("/projekte/ecotechub")]
    assert variants == ["/projekte/ecotechub"]


def test_identical_bytes_at_another_url_are_a_duplicate(crawled: Crawled) -> None:
    assert crawled.site.fetched("/druck/ecotechub") == 1
    assert crawled.doc("/druck/ecotechub") is None


def test_noindex_is_honoured_and_its_links_followed(crawled: Crawled) -> None:
    assert crawled.doc("/vorschau") is None and crawled.doc("/entwurf.pdf") is None
    assert crawled.doc("/nur-ueber-vorschau").status == "indexed"  # noindex, follow


def test_the_english_page_is_indexed_as_english(crawled: Crawled) -> None:
    record = crawled.doc("/en/about")
    languages = {info.language for _, info in crawled.rt.store.passages_of(record.doc_id)}
    assert languages == {"en"}
    german = crawled.doc("/projekte/kraftwerk")
    assert {info.language for _, info in crawled.rt.store.passages_of(german.doc_id)} == {"de"}


def test_boilerplate_stays_out_of_the_passages(crawled: Crawled) -> None:
    record = crawled.doc("/projekte/kraftwerk")
    text = " ".join(p.text for p, _ in crawled.rt.store.passages_of(record.doc_id))
    assert "Projektbüro Kraftwerk" in text and "§ 4 Abs. 2" in text
    assert "Cookies" not in text and "Barrierefreiheit" not in text


def test_status_per_source(crawled: Crawled) -> None:
    (entry,) = source_status(crawled.rt.registry, crawled.rt.settings.data_dir)
    assert entry.name == "musterkreis"
    assert entry.documents == {"indexed": len(INDEXED)}
    assert entry.passages == sum(points_per_doc(crawled.rt.store).values())
    assert entry.last_crawl is not None and entry.last_crawl.finished_at is not None
    assert entry.last_crawl.counts["new"] == len(INDEXED)
    assert {url for url, _, _ in entry.errors} >= {crawled.site.url("/langsam"), crawled.site.url("/gross.pdf")}
    assert crawled.rt.registry.last_run("crawl") is not None


def test_crawl_time(crawled: Crawled) -> None:
    # ~35 requests at a crawl-delay of 0.2 s, one Retry-After of 1 s, one timeout of 1 s
    assert crawled.seconds < 20, crawled.seconds


# ---------------------------------------------------------------- reindex (last: it rewrites the index)


def index_rows(crawled: Crawled) -> set[tuple[str, str, str]]:
    return {(p.doc_id, p.passage_id, p.text) for _, p, _ in crawled.rt.store.iter_points()}


def test_reindex_reparses_the_raw_bytes_without_fetching(crawled: Crawled) -> None:
    requests = len(crawled.site.requests)
    rows = index_rows(crawled)
    embedder = crawled.rt.embedder
    assert isinstance(embedder, CountingEmbedder)
    embedder.texts.clear()
    report = reindex(crawled.rt.indexer)
    assert report.counts() == {"indexed": len(INDEXED)}  # forced: every live document again
    assert len(crawled.site.requests) == requests
    assert index_rows(crawled) == rows  # same documents, same passages, same ids: replaced, not duplicated
    assert len(embedder.texts) == len(rows)


def test_reindex_reports_missing_raw_bytes(crawled: Crawled) -> None:
    record = crawled.doc("/en/about")
    crawled.rt.raw.path_of(record.raw_sha256).unlink()
    report = reindex(crawled.rt.indexer)
    missing = [f for f in report.files if f.source == record.source]
    assert [(f.status.value, f.reason) for f in missing] == [
        ("failed", "raw bytes not kept: fetch or ingest this source again")
    ]
    assert report.counts() == {"indexed": len(INDEXED) - 1, "failed": 1}
    assert points_per_doc(crawled.rt.store)[record.doc_id] == record.passages  # its passages stay


def test_a_meta_refresh_and_a_frameset_lead_to_their_pages(tmp_path: Path) -> None:
    """Older municipal sites forward moved pages with a meta refresh and frame their content: both are
    followed like links (same scope rules), and the forwarding page's report entry names its target."""
    frameset = (
        b'<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>Wirtschaft</title></head>'
        b'<frameset cols="25%,75%"><frame src="/rahmen/menue"><frame src="/rahmen/inhalt"></frameset></html>'
    )
    with FixtureSite(crawl_delay=0.05) as site:
        forward = '<meta http-equiv="refresh" content="0; URL=/wirtschaft/">'
        site.pages["/"] = Page(html_page("Umgezogen", "<p>Weiter</p>", extra_head=forward))
        site.pages["/wirtschaft/"] = Page(frameset)
        site.pages["/rahmen/menue"] = Page(german_page("Menü der Wirtschaftsförderung", "das Menü"))
        site.pages["/rahmen/inhalt"] = Page(german_page("Förderung im Musterkreis", "die Gewerbeflächen"))
        settings = Settings(data_dir=tmp_path / "data", allow_private_networks=True)
        with open_runtime(settings, embedder=CountingEmbedder()) as rt:
            report = run_crawl(rt, sources_toml(site, start="/", max_depth=3))
            for path in ("/rahmen/menue", "/rahmen/inhalt"):
                assert rt.registry.get(site.url(path)).status == "indexed", report.to_dict()
                assert site.fetched(path) == 1
            moved = rt.registry.get(site.url("/"))
            assert moved.status == "empty" and site.url("/wirtschaft/") in (moved.reason or ""), moved
