"""Any fetched or found file -> ``Document``: sniff what the bytes really are, then parse.

Headers and file suffixes lie (an HTML error page served as application/pdf, a PDF saved as .html,
gzip bytes without Content-Encoding), so the bytes decide: ``%PDF-`` near the start is a PDF, gzip
magic is inflated and sniffed again, HTML markers make HTML; the suffix and the Content-Type only
decide between plain text and Markdown, and whether text without markers is HTML. Known binary
formats and bytes that are not text are skipped with a reason.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Literal

from core.errors import ParseError
from core.ids import content_hash
from core.models import Document, FileStatus
from ingest.decode import GZIP_MAGIC, gunzip
from ingest.ocr import OcrOptions
from ingest.parse_html import parse_html
from ingest.parse_pdf import parse_pdf
from ingest.parse_text import parse_text

Kind = Literal["pdf", "html", "markdown", "text"]

# The PDF header may follow some junk; readers accept it within the first KiB.
PDF_HEADER_WINDOW = 1024
SNIFF_BYTES = 2048
MAX_INFLATED_BYTES = 50_000_000

_HTML_MARKERS = re.compile(
    rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<meta\s|<title[\s>]|<div[\s>]|<p[\s>]|<h[1-6][\s>]",
    re.IGNORECASE,
)
_MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdown", ".mkd"})
_HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml", ".shtml", ".php", ".asp", ".aspx", ".jsp"})
_BINARY_MAGIC = (
    (b"PK\x03\x04", "zip container (docx/xlsx/odt/zip)"),
    (b"\xd0\xcf\x11\xe0", "OLE2 document (doc/xls/ppt)"),
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"RIFF", "RIFF media"),
    (b"%!PS", "PostScript"),
    (b"{\\rtf", "RTF document"),
    (b"\x7fELF", "executable"),
    (b"7z\xbc\xaf", "7z archive"),
    (b"Rar!", "RAR archive"),
)
_CHARSET_PARAM = re.compile(r"charset\s*=\s*[\"']?([^\s;\"']+)", re.IGNORECASE)


def _looks_binary(data: bytes) -> bool:
    """NUL bytes or many control bytes in the head: not a text format (UTF-16 has a BOM or is rare)."""
    head = data[:SNIFF_BYTES]
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return False
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return b"\x00" in head or controls > len(head) * 0.05


def sniff_kind(data: bytes, suffix_hint: str | None, content_type: str | None) -> Kind:
    """What ``data`` is; raises ParseError(SKIPPED) for unsupported binary formats."""
    if b"%PDF-" in data[:PDF_HEADER_WINDOW]:
        return "pdf"
    head = data[:SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    for magic, name in _BINARY_MAGIC:
        if head.startswith(magic):
            raise ParseError(FileStatus.SKIPPED, f"unsupported file type: {name}")
    if _looks_binary(data):
        raise ParseError(FileStatus.SKIPPED, "unsupported file type: binary data that is not PDF, HTML or text")
    suffix = (suffix_hint or "").lower()
    if suffix and not suffix.startswith("."):
        suffix = "." + suffix
    media = (content_type or "").split(";")[0].strip().lower()
    if _HTML_MARKERS.search(head) and suffix not in _MARKDOWN_SUFFIXES:
        return "html"
    if suffix in _MARKDOWN_SUFFIXES or media in ("text/markdown", "text/x-markdown"):
        return "markdown"
    if suffix in _HTML_SUFFIXES or media in ("text/html", "application/xhtml+xml"):
        return "html"
    return "text"


def parse_bytes(
    raw: bytes,
    source: str,
    *,
    doc_id: str,
    suffix_hint: str | None,
    content_type: str | None = None,
    url: str | None = None,
    source_name: str | None = None,
    ocr: OcrOptions | None = None,
    ocr_budget_s: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Document:
    """Parse the bytes of one file or response into a Document (or raise ParseError with a status).

    ``suffix_hint`` is the file's or URL path's suffix (".pdf"), ``content_type`` the HTTP header;
    both are hints only. ``ocr``, ``ocr_budget_s`` and ``progress`` go to ``parse_pdf`` (OCR of
    scanned and garbled pages; without ``ocr`` no page is read by OCR).
    The document's ``content_hash`` is that of ``raw`` as given, so an unchanged
    download is recognised whatever its transfer encoding.
    """
    if not raw.strip():
        raise ParseError(FileStatus.EMPTY, "the file is empty")
    notes: list[str] = []
    data = raw
    if data.startswith(GZIP_MAGIC):
        data = gunzip(data, MAX_INFLATED_BYTES)
        notes.append("gzip-compressed file inflated")
        if not data.strip():
            raise ParseError(FileStatus.EMPTY, "the gzip data inflates to nothing")
    kind = sniff_kind(data, suffix_hint, content_type)
    declared = _CHARSET_PARAM.search(content_type or "")
    charset = declared.group(1) if declared else None
    hinted = (suffix_hint or "").lower().lstrip(".")
    announced_pdf = hinted == "pdf" or (content_type or "").lower().startswith("application/pdf")
    if announced_pdf and kind != "pdf":
        notes.append(f"announced as PDF but the bytes are {kind}")
    elif kind == "pdf" and hinted not in ("", "pdf"):
        notes.append(f"announced as {hinted} but the bytes are a PDF")

    if kind == "pdf":
        doc = parse_pdf(
            data,
            source,
            doc_id=doc_id,
            url=url,
            source_name=source_name,
            ocr=ocr,
            ocr_budget_s=ocr_budget_s,
            progress=progress,
        )
    elif kind == "html":
        doc = parse_html(data, source, doc_id=doc_id, url=url, source_name=source_name, charset=charset)
    else:
        doc = parse_text(
            data, source, doc_id=doc_id, url=url, source_name=source_name, markdown=kind == "markdown", charset=charset
        )
    return dataclasses.replace(doc, content_hash=content_hash(raw), warnings=tuple(notes) + doc.warnings)
