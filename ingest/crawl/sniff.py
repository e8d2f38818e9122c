"""What fetched bytes are, whatever the Content-Type header claims.

Servers label PDFs ``text/html`` or ``application/octet-stream`` and HTML ``text/plain``; the bytes
decide: ``%PDF-`` within the first 1024 bytes is a PDF (the PDF specification allows leading junk
there), markup that opens like an HTML document is HTML. The declared type decides only when the
bytes say nothing.
"""

from __future__ import annotations

import re

HTML = "text/html"
PDF = "application/pdf"
TEXT = "text/plain"

# The media types the ingest pipeline can parse.
DOCUMENT_TYPES = frozenset({HTML, PDF, TEXT})

_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S
)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def media_type(header: str | None) -> str:
    """``text/html; charset=utf-8`` -> ``text/html``; missing -> empty string."""
    return (header or "").split(";", 1)[0].strip().lower()


def sniff(declared: str | None, head: bytes) -> str:
    """The media type of a response from its declared Content-Type and its first bytes."""
    if b"%PDF-" in head[:1024]:
        return PDF
    body = head
    for bom in _BOMS:
        if body.startswith(bom):
            body = body[len(bom) :]
            break
    if _HTML_START.match(body[:4096]):
        return HTML
    kind = media_type(declared)
    if kind in ("text/html", "application/xhtml+xml"):
        return HTML
    if kind == PDF:  # claims PDF but has no PDF header: not a PDF we could parse
        return "application/octet-stream"
    return kind or "application/octet-stream"
