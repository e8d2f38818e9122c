"""The fetcher against a real HTTP server: retries and Retry-After, timeouts, the size cap, redirects
(limit, loop), conditional requests, content sniffing, per-host politeness, robots.txt."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from crawlsite import FixtureSite, Page, german_page, http_date, make_pdf

from ingest.crawl.fetch import Fetcher, FetchOptions, Outcome, Validators, retry_after_seconds
from ingest.crawl.politeness import HostGate
from ingest.crawl.robots import RobotsCache
from ingest.crawl.sniff import HTML, PDF

UA = "foerdersuche-test/1.0 (kontakt@example.de)"


@pytest.fixture
def site() -> Iterator[FixtureSite]:
    with FixtureSite(crawl_delay=0.3) as s:
        s.pages["/seite"] = Page(german_page("Förderung", "die Förderung"))
        s.pages["/lm"] = Page(german_page("Mit Datum", "das Datum"), etag=False, last_modified=http_date(1_700_000_000))
        s.pages["/instabil"] = Page(german_page("Instabil", "die Stabilität"))
        s.pages["/gedrosselt"] = Page(german_page("Gedrosselt", "die Drosselung"))
        s.pages["/langsam"] = Page(b"<html>zu spaet</html>", delay=1.5)
        s.pages["/gross"] = Page(b"<html>" + b"x" * 50_000 + b"</html>")
        s.pages["/gross-ohne-laenge"] = Page(b"<html>" + b"x" * 50_000 + b"</html>", content_length=False)
        s.pages["/bericht"] = Page(make_pdf("Bericht", ["Ein Bericht."]), content_type="text/html; charset=utf-8")
        s.pages["/kaputt"] = Page(b"Fehler", status=503, headers={"Retry-After": "3600"})
        s.pages["/falsch-gepackt"] = Page(b"kein gzip", headers={"Content-Encoding": "gzip"})
        s.redirects["/a"] = (301, "/b")
        s.redirects["/b"] = (302, "/a")
        s.redirects["/umzug"] = (308, "/seite?utm_source=umzug#oben")
        for i in range(7):
            s.redirects[f"/kette/{i}"] = (302, f"/kette/{i + 1}")
        s.redirects["/ftp"] = (302, "ftp://example.de/datei")
        yield s


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False) as c:
        yield c


def make_fetcher(client: httpx.Client, **options: object) -> Fetcher:
    opts = FetchOptions(**{"timeout_s": 0.5, "backoff_s": 0.05, "max_retry_after_s": 1.5, **options})  # type: ignore[arg-type]
    return Fetcher(client, HostGate(delay=0, max_concurrent=2), opts, user_agent=UA)


def test_ok_with_headers(site: FixtureSite, client: httpx.Client) -> None:
    result = make_fetcher(client).fetch(site.url("/seite"))
    assert result.outcome is Outcome.OK and result.status == 200
    assert result.media_type == HTML and result.content_type == "text/html; charset=utf-8"
    assert result.etag and b"F\xc3\xb6rderung" in result.body
    sent = site.requests_for("/seite")[0].headers
    assert sent["User-Agent"] == UA and "de" in sent["Accept-Language"]


def test_a_500_is_retried_and_recovers(site: FixtureSite, client: httpx.Client) -> None:
    result = make_fetcher(client).fetch(site.url("/instabil"))
    assert result.outcome is Outcome.OK and result.attempts == 2
    assert site.fetched("/instabil") == 2


def test_a_429_waits_for_retry_after(site: FixtureSite, client: httpx.Client) -> None:
    result = make_fetcher(client).fetch(site.url("/gedrosselt"))
    assert result.outcome is Outcome.OK and result.attempts == 2
    first, second = site.requests_for("/gedrosselt")
    assert second.at - first.at >= 0.8  # Retry-After: 1 (server-side times: allow for a late first arrival)


def test_retry_after_is_capped_and_retries_are_bounded(site: FixtureSite, client: httpx.Client) -> None:
    started = time.monotonic()
    result = make_fetcher(client, max_retries=1, max_retry_after_s=0.3).fetch(site.url("/kaputt"))
    assert result.outcome is Outcome.FAILED and result.status == 503
    assert site.fetched("/kaputt") == 2  # one try + one retry
    assert time.monotonic() - started < 2.0  # Retry-After: 3600 was capped at 0.3 s


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412400.0) == 80.0
    assert retry_after_seconds("bald") is None
    assert retry_after_seconds(None) is None


def test_a_slow_response_times_out_without_retry(site: FixtureSite, client: httpx.Client) -> None:
    result = make_fetcher(client).fetch(site.url("/langsam"))
    assert result.outcome is Outcome.FAILED and "timeout" in (result.reason or "")
    assert site.fetched("/langsam") == 1


def test_the_size_cap(site: FixtureSite, client: httpx.Client) -> None:
    fetcher = make_fetcher(client, max_bytes=10_000)
    declared = fetcher.fetch(site.url("/gross"))
    assert declared.outcome is Outcome.FAILED and "Content-Length" in (declared.reason or "")
    streamed = fetcher.fetch(site.url("/gross-ohne-laenge"))
    assert streamed.outcome is Outcome.FAILED and "download aborted" in (streamed.reason or "")
    assert streamed.body == b""


def test_redirects(site: FixtureSite, client: httpx.Client) -> None:
    fetcher = make_fetcher(client)
    moved = fetcher.fetch(site.url("/umzug"))
    assert moved.outcome is Outcome.OK and moved.final_url == site.url("/seite")  # tracking and fragment dropped
    assert moved.redirects == (site.url("/seite"),)
    loop = fetcher.fetch(site.url("/a"))
    assert loop.outcome is Outcome.FAILED and "redirect loop" in (loop.reason or "")
    chain = fetcher.fetch(site.url("/kette/0"))
    assert chain.outcome is Outcome.FAILED and "more than 5 redirects" in (chain.reason or "")
    assert site.fetched("/kette/5") == 1 and site.fetched("/kette/6") == 0
    ftp = fetcher.fetch(site.url("/ftp"))
    assert ftp.outcome is Outcome.FAILED and "non-http" in (ftp.reason or "")
    refused = fetcher.fetch(site.url("/umzug"), check_hop=lambda url: "not in scope")
    assert refused.outcome is Outcome.REFUSED and "not in scope" in (refused.reason or "")
    gone = fetcher.fetch(site.url("/gibt-es-nicht"))
    assert gone.outcome is Outcome.GONE and gone.status == 404


def test_conditional_requests(site: FixtureSite, client: httpx.Client) -> None:
    fetcher = make_fetcher(client)
    first = fetcher.fetch(site.url("/seite"))
    again = fetcher.fetch(site.url("/seite"), validators_for=lambda url: Validators(etag=first.etag))
    assert again.outcome is Outcome.NOT_MODIFIED and again.body == b""
    assert site.requests_for("/seite")[-1].headers["If-None-Match"] == first.etag
    dated = fetcher.fetch(site.url("/lm"))
    assert dated.etag is None and dated.last_modified
    again = fetcher.fetch(site.url("/lm"), validators_for=lambda url: Validators(last_modified=dated.last_modified))
    assert again.outcome is Outcome.NOT_MODIFIED
    site.pages["/seite"] = Page(german_page("Förderung neu", "die neue Förderung"))
    changed = fetcher.fetch(site.url("/seite"), validators_for=lambda url: Validators(etag=first.etag))
    assert changed.outcome is Outcome.OK and b"neue" in changed.body


def test_a_body_that_cannot_be_decoded_fails_once(site: FixtureSite, client: httpx.Client) -> None:
    result = make_fetcher(client).fetch(site.url("/falsch-gepackt"))
    assert result.outcome is Outcome.FAILED and "cannot decode" in (result.reason or "")
    assert site.fetched("/falsch-gepackt") == 1


def test_a_pdf_served_as_html_is_a_pdf(site: FixtureSite, client: httpx.Client) -> None:
    result = make_fetcher(client).fetch(site.url("/bericht"))
    assert result.declared_type == "text/html" and result.media_type == PDF


def test_politeness_spaces_requests_to_one_host(site: FixtureSite, client: httpx.Client) -> None:
    gate = HostGate(delay=0.0, max_concurrent=1)
    fetcher = Fetcher(client, gate, FetchOptions(timeout_s=2), user_agent=UA)
    robots = RobotsCache(fetcher)
    rules = robots.rules(site.base)
    assert rules.crawl_delay(UA) == 0.3
    assert rules.sitemaps == (f"{site.base}/sitemaps/index.xml",)
    assert not rules.allowed(site.url("/intern/geheim"), UA) and rules.allowed(site.url("/seite"), UA)
    gate.set_delay("127.0.0.1", rules.crawl_delay(UA) or 0)
    for _ in range(3):
        fetcher.fetch(site.url("/seite"))
    starts = [r.at for r in site.requests_for("/seite")]
    assert starts[2] - starts[0] >= 0.6 - 0.15  # server-side times: one late arrival is jitter, not a pattern
    assert robots.rules(site.base) is rules and site.fetched("/robots.txt") == 1  # fetched once


def test_robots_answers(site: FixtureSite, client: httpx.Client) -> None:
    site.robots_status = 404  # no robots.txt: no rules
    rules = RobotsCache(make_fetcher(client)).rules(site.base)
    assert rules.allowed(site.url("/intern/x"), UA) and not rules.disallow_all
    site.robots_status = 503  # unreachable: nothing may be crawled (RFC 9309)
    rules = RobotsCache(make_fetcher(client, max_retries=0)).rules(site.base)
    assert rules.disallow_all and "unreachable" in (rules.note or "")
    assert not rules.allowed(site.url("/seite"), UA)
