"""Hostile inputs are capped: each ends as a report entry with a status and a reason, within the parse
time limit, without the ingesting process growing (the parser workers carry the memory limit).

Generated here, small on disk: a gzip bomb (1 GiB of spaces inside an HTML page, 1 MB compressed,
streamed so the test never holds it), a 60 MB HTML page, a PDF of 100,000 pages, a PDF whose page
count lies (two billion), a page tree nested 50,000 levels deep, a dictionary nested a million arrays
deep, HTML nested 200,000 divs deep. The 118 real-world files are tests/ingest/test_ingest_realworld.py and
tests/ingest/test_parse_realworld.py.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from crawlsite import FixtureSite, Page

from core.model.embedding import HashingEmbedder
from core.models import FileStatus
from core.settings import Settings
from ingest.crawl.fetch import Fetcher, FetchOptions, Outcome
from ingest.crawl.politeness import HostGate
from ingest.discovery import discover
from runtime import open_runtime

TIMEOUT_S = 20.0
MEMORY_MB = 1024
PARAGRAPH = (
    "<p>Die Wirtschaftsförderung Kreis Unna fördert den Strukturwandel in Bergkamen mit 1,2 Millionen Euro "
    "aus dem 5-StandorteProgramm; § 4 Abs. 2 der Richtlinie gilt entsprechend.</p>\n"
).encode()


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def gzip_bomb(path: Path, gib: int = 1) -> Path:
    """``gib`` GiB of spaces in an HTML page, gzip-compressed while written (about 1 MB per GiB)."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * (1 << 20)
    with open(path, "wb") as handle:
        handle.write(deflate.compress(b"<!DOCTYPE html><html><head><title>Bombe</title></head><body><p>"))
        for _ in range(gib << 10):
            handle.write(deflate.compress(block))
        handle.write(deflate.compress(b"</p></body></html>") + deflate.flush())
    return path


def pdf_bytes(objects: list[bytes]) -> bytes:
    """A PDF of these objects (1 0 R is the catalog) with a correct cross-reference table."""
    parts = [b"%PDF-1.7\n"]
    offsets = []
    size = len(parts[0])
    for number, obj in enumerate(objects, 1):
        offsets.append(size)
        chunk = b"%d 0 obj\n%s\nendobj\n" % (number, obj)
        parts.append(chunk)
        size += len(chunk)
    parts.append(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    parts.extend(b"%010d 00000 n \n" % offset for offset in offsets)
    parts.append(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, size))
    return b"".join(parts)


CONTENT = b"<< /Length 44 >>\nstream\nBT /F1 12 Tf 10 10 Td (Seite) Tj ET\nendstream"


def many_pages(n: int) -> bytes:
    kids = b" ".join(b"%d 0 R" % (i + 4) for i in range(n))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 3 0 R >>"
    return pdf_bytes(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n),
            CONTENT,
            *([page] * n),
        ]
    )


def lying_count() -> bytes:
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 3 0 R >>"
    return pdf_bytes(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 2000000000 >>", CONTENT, page]
    )


def deep_page_tree(depth: int) -> bytes:
    nodes = [b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % (i + 3) for i in range(depth)]
    return pdf_bytes([b"<< /Type /Catalog /Pages 2 0 R >>", *nodes, b"<< /Type /Page /MediaBox [0 0 200 200] >>"])


def deep_arrays(depth: int) -> bytes:
    return pdf_bytes(
        [
            b"<< /Type /Catalog /Pages 2 0 R /Nest " + b"[" * depth + b"]" * depth + b" >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
            CONTENT,
        ]
    )


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    gzip_bomb(folder / "bombe.html")
    with open(folder / "riesig.html", "wb") as handle:
        handle.write(b"<!DOCTYPE html><html lang=de><head><meta charset=utf-8><title>Riesig</title></head><body>")
        for _ in range(60_000_000 // len(PARAGRAPH) + 1):
            handle.write(PARAGRAPH)
        handle.write(b"</body></html>")
    (folder / "seiten.pdf").write_bytes(many_pages(100_000))
    (folder / "zaehlung.pdf").write_bytes(lying_count())
    (folder / "baum.pdf").write_bytes(deep_page_tree(50_000))
    (folder / "verschachtelt.pdf").write_bytes(deep_arrays(1_000_000))
    (folder / "tief.html").write_bytes(b"<html><body>" + b"<div>" * 200_000 + b"Text " * 10 + b"</div>" * 200_000)
    return folder


def test_hostile_files_end_with_a_status_and_a_reason_within_the_limits(hostile: Path, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", parse_timeout_s=TIMEOUT_S, parse_memory_mb=MEMORY_MB, max_file_bytes=100_000_000
    )
    items, skipped = discover([hostile])
    assert not skipped and len(items) == 7
    rss_before = rss_mb()
    started = time.monotonic()
    with open_runtime(settings, embedder=HashingEmbedder(64)) as rt:
        report = rt.indexer.ingest(items)
    seconds = time.monotonic() - started
    by_name = {Path(f.source).name: f for f in report.files}
    assert len(by_name) == 7
    for name, result in by_name.items():
        assert result.status in FileStatus, name
        assert (result.reason is None) == (result.status is FileStatus.INDEXED), result
    bomb = by_name["bombe.html"]
    assert bomb.status is FileStatus.SKIPPED and "inflates beyond" in (bomb.reason or "")
    huge = by_name["riesig.html"]  # too big for 1 GiB of parser memory or for the time limit
    assert huge.status is FileStatus.FAILED and (
        "memory limit" in (huge.reason or "") or "timed out" in (huge.reason or "")
    )
    for name in ("seiten.pdf", "baum.pdf", "verschachtelt.pdf", "tief.html"):
        assert by_name[name].status is not FileStatus.INDEXED or by_name[name].passages < 50, by_name[name]
    # every file within its limit (plus worker start-up), the whole run well within the sum of the limits
    assert seconds < 7 * TIMEOUT_S, seconds
    assert rss_mb() - rss_before < 300, "the ingesting process must not carry the parsers' memory"


def test_a_60_mb_page_is_skipped_unread_with_the_default_limit(hostile: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    items, _ = discover([hostile / "riesig.html"])
    started = time.monotonic()
    with open_runtime(settings, embedder=HashingEmbedder(64)) as rt:
        (result,) = rt.indexer.ingest(items).files
    assert result.status is FileStatus.SKIPPED and "too large" in (result.reason or "")
    assert time.monotonic() - started < 10


@pytest.fixture(scope="module")
def bomb_site(hostile: Path) -> Iterator[FixtureSite]:
    with FixtureSite(crawl_delay=0) as site:
        site.pages["/bombe"] = Page((hostile / "bombe.html").read_bytes(), headers={"Content-Encoding": "gzip"})
        yield site


def test_a_compression_bomb_over_http_is_cut_off_by_the_crawler(bomb_site: FixtureSite) -> None:
    """Content-Encoding: gzip is inflated by the HTTP client while streaming; the size cap counts the
    inflated bytes, so the download stops at ``max_bytes`` instead of inflating a gigabyte."""
    import httpx

    rss_before = rss_mb()
    with httpx.Client(trust_env=False) as client:
        fetcher = Fetcher(
            client, HostGate(delay=0, max_concurrent=1), FetchOptions(max_bytes=20_000_000), user_agent="t"
        )
        result = fetcher.fetch(bomb_site.url("/bombe"))
    assert result.outcome is Outcome.FAILED and "too large" in (result.reason or ""), result.reason
    assert rss_mb() - rss_before < 400
