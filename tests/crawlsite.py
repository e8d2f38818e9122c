"""A small German funding website on a real HTTP server at 127.0.0.1, for the crawler tests.

``FixtureSite`` serves ``pages`` (path -> ``Page``) that a test may change between crawls, plus the
awkward cases a crawler meets: robots.txt with a disallowed path and a crawl-delay, sitemaps (an
index and a urlset), redirects (one that moves a page, a loop, a long chain), 404, a 500 that recovers
on retry, a 429 with Retry-After, a response slower than the timeout, an oversized file (with and
without Content-Length), a PDF served as text/html, a link to another host, duplicate URLs with
tracking parameters, a print copy with identical bytes, and an English page.

Every request is logged (time, path, host header, request headers), so tests can assert what was
fetched, how often and how far apart. PDFs are written here with fpdf2.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Protocol

from fpdf import FPDF

NAV = """<header><nav><a href="/">Startseite</a> | <a href="/foerderung/">Förderung</a> |
<a href="/kontakt">Kontakt</a> | <a href="/datenschutz">Datenschutz</a></nav>
<div class="cookie">Diese Website verwendet Cookies. Mit der Nutzung stimmen Sie zu.</div></header>"""
FOOTER = """<footer><p>© Wirtschaftsförderung Musterkreis · Impressum · Datenschutz · Barrierefreiheit</p></footer>"""


def paragraph(topic: str, n: int = 4) -> str:
    sentences = [
        f"Das Vorhaben {topic} stärkt den Strukturwandel im Ruhrgebiet nach dem Ende der Kohleverstromung.",
        f"Für {topic} stellt das Land Nordrhein-Westfalen Fördermittel in Höhe von 150.000 Euro bereit.",
        f"Unternehmen aus dem Kreis Unna und aus Bergkamen beteiligen sich an {topic} mit eigenen Beiträgen.",
        "Gemäß § 4 Abs. 2 der Förderrichtlinie werden Maßnahmen zur Qualifizierung besonders berücksichtigt.",
        f"Die Hochschule Bochum begleitet {topic} wissenschaftlich und wertet die Ergebnisse regelmäßig aus.",
    ]
    return " ".join(sentences[i % len(sentences)] for i in range(n))


def html_page(title: str, body: str, links: list[str] | tuple[str, ...] = (), extra_head: str = "") -> bytes:
    anchors = "\n".join(
        f'<li><a href="{href}">{text}</a></li>' for href, text in ((link, f"Weiter zu {link}") for link in links)
    )
    return f"""<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8"><title>{title}</title>{extra_head}</head>
<body>{NAV}
<main><article><h1>{title}</h1>
{body}
</article>
<aside><ul>{anchors}</ul></aside></main>
{FOOTER}</body></html>""".encode()


def german_page(title: str, topic: str, links: list[str] | tuple[str, ...] = (), paragraphs: int = 3) -> bytes:
    body = "\n".join(f"<p>{paragraph(f'{topic} (Teil {i + 1})', 5)}</p>" for i in range(paragraphs))
    return html_page(title, body, links)


def make_pdf(title: str, lines: list[str]) -> bytes:
    """A text PDF written by fpdf2 (core font: Latin-1, so no typographic dashes)."""
    pdf = FPDF()
    pdf.set_creator("foerdersuche tests")
    pdf.set_title(title)
    pdf.add_page()
    pdf.set_font("helvetica", size=16)
    pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=11)
    for line in lines:
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    return bytes(pdf.output())


if TYPE_CHECKING:
    from email.message import Message

    from ingest.crawl.crawler import CrawlEvent
    from ingest.crawl.report import CrawlReport
    from runtime import Runtime


class Responder(Protocol):
    headers: Message

    def _send(
        self, status: int, body: bytes = b"", headers: dict[str, str] | None = None, content_length: bool = True
    ) -> None: ...


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    etag: bool = True  # send an ETag (sha of the body) and answer If-None-Match with 304
    last_modified: str | None = None  # send Last-Modified and answer If-Modified-Since with 304
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    content_length: bool = True


@dataclass(frozen=True)
class Request:
    at: float
    path: str
    host: str
    headers: dict[str, str]


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a timeout, an aborted oversized download) is expected here."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class FixtureSite:
    """The server and its content; ``base`` is ``http://127.0.0.1:<port>``."""

    def __init__(self, *, crawl_delay: float = 0.2, page_delay: float = 0.0) -> None:
        self.crawl_delay = crawl_delay
        self.page_delay = page_delay
        self.pages: dict[str, Page] = {}
        self.redirects: dict[str, tuple[int, str]] = {}
        self.requests: list[Request] = []
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.robots = (
            f"User-agent: *\nDisallow: /intern/\nCrawl-delay: {crawl_delay}\nSitemap: {self.base}/sitemaps/index.xml\n"
        )
        self.robots_status = 200
        self.sitemap_pages: list[str] = []
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FixtureSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------ content helpers

    def url(self, path: str) -> str:
        return self.base + path

    def fetched(self, path: str) -> int:
        """How many times a path (query string included) was requested."""
        with self.lock:
            return self.hits[path]

    def requests_for(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def sitemap_xml(self) -> bytes:
        urls = "".join(f"<url><loc>{self.base}{p}</loc></url>" for p in self.sitemap_pages)
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        ).encode()

    def sitemap_index_xml(self) -> bytes:
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>'
            f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{self.base}/sitemaps/seiten.xml</loc></sitemap></sitemapindex>"
        ).encode()

    # ------------------------------------------------------------ the handler

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _send(
                self, status: int, body: bytes = b"", headers: dict[str, str] | None = None, content_length: bool = True
            ) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                if content_length:
                    self.send_header("Content-Length", str(len(body)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                if body:
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                        self.wfile.write(body)

            def do_GET(self) -> None:
                path = self.path
                with site.lock:
                    site.requests.append(
                        Request(time.monotonic(), path, self.headers.get("Host", ""), dict(self.headers.items()))
                    )
                    site.hits[path] += 1
                    count = site.hits[path]
                site.route(self, path, count)

        return Handler

    def route(self, h: Responder, path: str, count: int) -> None:
        if path == "/robots.txt":
            return h._send(self.robots_status, self.robots.encode(), {"Content-Type": "text/plain"})
        if path == "/sitemap.xml":
            return h._send(200, self.sitemap_xml(), {"Content-Type": "application/xml"})
        if path == "/sitemaps/index.xml":
            return h._send(200, self.sitemap_index_xml(), {"Content-Type": "application/xml"})
        if path == "/sitemaps/seiten.xml":
            return h._send(200, self.sitemap_xml(), {"Content-Type": "application/xml"})
        if path in self.redirects:
            status, target = self.redirects[path]
            return h._send(status, b"", {"Location": target})
        if path == "/instabil" and count == 1:
            return h._send(500, b"Interner Fehler", {"Content-Type": "text/plain"})
        if path == "/gedrosselt" and count == 1:
            return h._send(429, b"Zu viele Anfragen", {"Content-Type": "text/plain", "Retry-After": "1"})
        page = self.pages.get(path)
        if page is None:
            return h._send(404, b"Nicht gefunden", {"Content-Type": "text/plain"})
        delay = page.delay or self.page_delay
        if delay:
            time.sleep(delay)
        headers = {"Content-Type": page.content_type, **page.headers}
        etag = '"' + hashlib.sha256(page.body).hexdigest()[:16] + '"' if page.etag else None
        if etag:
            headers["ETag"] = etag
        if page.last_modified:
            headers["Last-Modified"] = page.last_modified
        if page.status == 200:
            if etag and h.headers.get("If-None-Match") == etag:
                return h._send(304, b"", {"ETag": etag})
            if page.last_modified and h.headers.get("If-Modified-Since") == page.last_modified and not etag:
                return h._send(304, b"", {"Last-Modified": page.last_modified})
        return h._send(page.status, page.body, headers, content_length=page.content_length)


def http_date(ts: float) -> str:
    return formatdate(ts, usegmt=True)


def build_behaviour_site(site: FixtureSite, *, other_host: str) -> None:
    """The site of tests/ingest/test_crawl_behaviour.py: every case reachable from /foerderung/ (plus /vorschau:
    noindex but follow, and /entwurf.pdf: X-Robots-Tag noindex)."""
    p = site.pages
    links = [
        "/projekte/ecotechub?utm_source=newsletter&utm_medium=mail",
        "/projekte/ecotechub#kontakt",
        "/projekte/ecotechub/?fbclid=IwAR123",
        "/projekte/kraftwerk",
        "/druck/ecotechub",
        "/intern/entwurf",
        "/alt/fortschritt",
        "/schleife/a",
        "/kette/0",
        "/fehlt",
        "/instabil",
        "/gedrosselt",
        "/langsam",
        "/gross.pdf",
        "/gross-ohne-laenge",
        "/bericht-2021",
        "/en/about",
        "/extern-weiter",
        "/vorschau",
        "/entwurf.pdf",
        f"http://{other_host}:{site.port}/partner",
        "/style.css",
        "mailto:info@example.de",
        "javascript:void(0)",
    ]
    p["/"] = Page(german_page("Wirtschaftsförderung Musterkreis", "die Standortentwicklung", ["/foerderung/"]))
    p["/foerderung/"] = Page(german_page("Förderprogramme im Überblick", "das 5-StandorteProgramm", links))
    eco = german_page("EcoTecHub Bergkamen", "der Technologiehub EcoTecHub", ["/foerderung/"])
    p["/projekte/ecotechub"] = Page(eco, last_modified=http_date(1_700_000_000), etag=False)
    p["/druck/ecotechub"] = Page(eco, etag=False)  # identical bytes at another URL
    p["/projekte/kraftwerk"] = Page(german_page("Projektbüro Kraftwerk", "das Projektbüro Kraftwerk"))
    p["/intern/entwurf"] = Page(german_page("Interner Entwurf", "der interne Entwurf"))
    p["/projekte/fortschritt"] = Page(german_page("Ruhr-Konferenz Fortschritt", "der Fortschrittsbericht"))
    site.redirects["/alt/fortschritt"] = (301, "/projekte/fortschritt")
    site.redirects["/schleife/a"] = (302, "/schleife/b")
    site.redirects["/schleife/b"] = (302, "/schleife/a")
    for i in range(8):
        site.redirects[f"/kette/{i}"] = (302, f"/kette/{i + 1}")
    site.redirects["/extern-weiter"] = (302, f"http://{other_host}:{site.port}/partner")
    p["/instabil"] = Page(german_page("Instabile Seite", "die Klimaresilienz"))
    p["/gedrosselt"] = Page(german_page("Gedrosselte Seite", "die grüne Infrastruktur"))
    p["/langsam"] = Page(german_page("Langsame Seite", "die Elektromobilität"), delay=2.5)
    big = make_pdf("Grosser Bericht", ["x" * 80] * 10) + b"%" + b"0" * 300_000
    p["/gross.pdf"] = Page(big, content_type="application/pdf")
    p["/gross-ohne-laenge"] = Page(big, content_type="application/pdf", content_length=False)
    p["/bericht-2021"] = Page(
        make_pdf("Fortschrittsbericht 2021 der Ruhr-Konferenz", [paragraph("der Fortschrittsbericht", 5)] * 3),
        content_type="text/html; charset=utf-8",
    )
    p["/en/about"] = Page(
        html_page(
            "About the funding agency",
            "<p>"
            + " ".join(
                [
                    "The agency supports companies in the Ruhr area with grants, advice and networks for the "
                    "structural change after the end of coal mining."
                ]
                * 6
            )
            + "</p>",
        )
    )
    p["/nur-in-sitemap"] = Page(german_page("Nur in der Sitemap", "die Wasserstoffstrategie"))
    p["/vorschau"] = Page(
        html_page(
            "Vorschau",
            f"<p>{paragraph('die Vorschau', 5)}</p>",
            ["/nur-ueber-vorschau"],
            extra_head='<meta name="robots" content="noindex, follow">',
        )
    )
    p["/nur-ueber-vorschau"] = Page(german_page("Nur über die Vorschau", "das Quartier"))
    p["/entwurf.pdf"] = Page(
        make_pdf("Entwurf", [paragraph("der Entwurf", 5)]),
        content_type="application/pdf",
        headers={"X-Robots-Tag": "noindex"},
    )
    site.sitemap_pages = ["/foerderung/", "/nur-in-sitemap"]


# ---------------------------------------------------------------- running a crawl in-process


class CountingEmbedder:
    """The hashing embedder, counting every passage text it embeds (to prove what was re-embedded)."""

    def __init__(self, dim: int = 64) -> None:
        from core.model.embedding import HashingEmbedder

        self.inner = HashingEmbedder(dim)
        self.name = self.inner.name
        self.dim = self.inner.dim
        self.texts: list[str] = []

    def embed_passages(self, texts: Any) -> Any:
        self.texts.extend(texts)
        return self.inner.embed_passages(texts)

    def embed_queries(self, texts: Any) -> Any:
        return self.inner.embed_queries(texts)


def sources_toml(
    site: FixtureSite,
    *,
    start: str = "/",
    name: str = "musterkreis",
    max_depth: int = 3,
    max_pages: int = 60,
    crawler: str = "",
) -> str:
    return f"""
[crawler]
delay_s = 0.0
concurrency = 4
timeout_s = 1.0
backoff_s = 0.05
max_retry_after_s = 2.0
max_bytes = 200_000
{crawler}

[[sources]]
name = "{name}"
start_urls = ["{site.base}{start}"]
allow_private = true
max_depth = {max_depth}
max_pages = {max_pages}
"""


def run_crawl(rt: Runtime, toml: str, *, on_event: Callable[[CrawlEvent], None] | None = None) -> CrawlReport:
    """One crawl as the CLI runs it (guarded client, frontier in the data dir), in this process."""
    from pathlib import Path

    from ingest.crawl.crawler import Crawler, guard_policy
    from ingest.crawl.frontier import Frontier
    from ingest.crawl.netguard import guarded_client
    from ingest.crawl.sources import parse_sources
    from ingest.crawl.status import frontier_path

    config = parse_sources(toml, Path("test-sources.toml"))
    settings = rt.settings
    policy = guard_policy(config.sources, settings.allow_private_networks)
    with (
        Frontier(frontier_path(settings.data_dir)) as frontier,
        guarded_client(policy, user_agent=settings.user_agent, timeout_s=config.options.timeout_s) as client,
    ):
        crawler = Crawler(
            indexer=rt.indexer,
            frontier=frontier,
            client=client,
            options=config.options,
            user_agent=settings.user_agent,
            max_bytes=settings.max_file_bytes,
            allow_private_networks=settings.allow_private_networks,
            on_event=on_event,
        )
        return crawler.crawl(config.sources)


def points_per_doc(store: Any, site: FixtureSite | None = None) -> Counter[str]:
    """Points per document id in the index (only the documents of ``site`` if given)."""
    return Counter(
        passage.doc_id
        for _, passage, info in store.iter_points()
        if site is None or (info.url or "").startswith(site.base + "/")
    )
