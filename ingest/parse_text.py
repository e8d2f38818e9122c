"""Plain text and Markdown bytes -> ``Document``.

The text is kept as written (Markdown markup included, since it is readable as text), only decoded
and normalised. The title is the first Markdown heading, else the first line; ATX (``## Ziele``) and
Setext (a line underlined with ``===`` or ``---``) headings are recorded with their offsets, except
inside fenced code blocks.
"""

from __future__ import annotations

import re

from core.errors import ParseError
from core.ids import content_hash
from core.models import Document, FileStatus, Heading
from ingest.dates import text_date
from ingest.decode import decode_text
from ingest.doctype import classify_doc_type
from ingest.language import detect_language
from ingest.normalize import normalize_text

MEDIA_TYPES = {"markdown": "text/markdown", "plain": "text/plain"}
TITLE_MAX_CHARS = 300
DATE_SEARCH_CHARS = 1500  # a date near the start of a note is its date; further down, any date

_ATX = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_SETEXT = re.compile(r"^(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^(```|~~~)")


def markdown_headings(text: str) -> tuple[Heading, ...]:
    """ATX and Setext headings of a Markdown text, with the offset of their line."""
    headings: list[Heading] = []
    offset = 0
    in_fence = False
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            atx = _ATX.match(line)
            following = lines[i + 1] if i + 1 < len(lines) else ""
            if atx:
                headings.append(Heading(start=offset, level=len(atx.group(1)), text=atx.group(2).strip()))
            elif line.strip() and not line.startswith(("-", "*", "+", ">")) and _SETEXT.match(following):
                level = 1 if following.startswith("=") else 2
                headings.append(Heading(start=offset, level=level, text=line.strip()))
        offset += len(line) + 1
    return tuple(headings)


def parse_text(
    raw: bytes,
    source: str,
    *,
    doc_id: str,
    url: str | None = None,
    source_name: str | None = None,
    markdown: bool = False,
    charset: str | None = None,
) -> Document:
    """Parse a .txt (``markdown=False``) or .md file. Raises ParseError(EMPTY) for blank files."""
    decoded = decode_text(raw, charset)
    text = normalize_text(decoded.text)
    if not any(ch.isalnum() for ch in text):
        raise ParseError(FileStatus.EMPTY, "the text file contains no text")
    headings = markdown_headings(text) if markdown else ()
    first_line = next(line for line in text.split("\n") if line.strip())
    title = headings[0].text if headings else first_line.lstrip("#").strip()
    title = title[:TITLE_MAX_CHARS]
    media_type = MEDIA_TYPES["markdown" if markdown else "plain"]
    return Document(
        doc_id=doc_id,
        source=source,
        title=title,
        text=text,
        content_hash=content_hash(raw),
        url=url,
        doc_type=classify_doc_type(title, text, url or source, media_type),
        date=text_date(text[:DATE_SEARCH_CHARS]),
        language=detect_language(text),
        media_type=media_type,
        headings=headings,
        source_name=source_name,
        warnings=(decoded.warning,) if decoded.warning else (),
    )
