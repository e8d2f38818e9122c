"""Plain text and Markdown bytes -> ``Document``.

The text is kept as written (Markdown markup included, since it is readable as text), only decoded
and normalised. The title is the first Markdown heading, else the first line (shortened at a word
when it is a whole paragraph); ATX (``## Ziele``) and Setext (a line underlined with ``===`` or
``---``) headings are recorded with their offsets, except inside fenced code blocks.

Markdown front matter (static-site generators: a ``---`` block of ``key: value`` lines, or ``+++`` of
``key = value``) is metadata, not text: its ``title`` and ``date`` are used and the block is not
indexed. Without that, its closing ``---`` would underline the line above it as a Setext heading.
"""

from __future__ import annotations

import re

from core.errors import ParseError
from core.ids import content_hash
from core.models import Document, FileStatus, Heading
from ingest.dates import iso_date, text_date
from ingest.decode import decode_text
from ingest.doctype import classify_doc_type
from ingest.language import detect_language
from ingest.normalize import headline, normalize_text

MEDIA_TYPES = {"markdown": "text/markdown", "plain": "text/plain"}
TITLE_MAX_CHARS = 300
DATE_SEARCH_CHARS = 1500  # a date near the start of a note is its date; further down, any date

_ATX = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_SETEXT = re.compile(r"^(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^(```|~~~)")
_FRONT_MATTER = re.compile(r"\A(---|\+\+\+)\n(.*?)\n(?:\1|\.\.\.)(?:\n|\Z)", re.DOTALL)
_FRONT_KEY = re.compile(r"[A-Za-z_][\w.-]*")
FRONT_MATTER_MAX_LINES = 100
# A block counts as front matter only with one of the keys static-site generators use, so that text
# between two horizontal rules ("Hinweis: ...") is never dropped as metadata.
FRONT_MATTER_KEYS = frozenset(
    "title date author authors layout tags categories description summary slug draft lang language "
    "keywords permalink lastmod publishdate".split()
)


def front_matter(text: str) -> tuple[dict[str, str], str]:
    """The scalar fields of a Markdown front matter block (keys lower-cased, quotes removed) and the
    text after it. ``({}, text)`` unless every line of the block is a ``key: value`` (``key = value``
    under ``+++``), a continuation, a list item or a comment, and one key is a ``FRONT_MATTER_KEYS``
    one: a document that opens with a horizontal rule keeps all its text."""
    match = _FRONT_MATTER.match(text)
    if match is None or match[2].count("\n") >= FRONT_MATTER_MAX_LINES:
        return {}, text
    separator = ":" if match[1] == "---" else "="
    fields: dict[str, str] = {}
    for line in match[2].split("\n"):
        if not line.strip() or line.startswith((" ", "-", "#", "[")):
            continue  # blank, nested value, list item, comment, TOML table
        key, found, value = line.partition(separator)
        if not found or not _FRONT_KEY.fullmatch(key.strip()):
            return {}, text
        fields.setdefault(key.strip().lower(), value.strip().strip("'\""))
    if not FRONT_MATTER_KEYS & fields.keys():
        return {}, text
    return fields, text[match.end() :].lstrip("\n")


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
    meta: dict[str, str] = {}
    if markdown:
        meta, text = front_matter(text)
        if not any(ch.isalnum() for ch in text):
            raise ParseError(FileStatus.EMPTY, "the Markdown file holds only its front matter, no text")
    headings = markdown_headings(text) if markdown else ()
    first_line = next(line for line in text.split("\n") if line.strip())
    title = meta.get("title") or (headings[0].text if headings else headline(first_line.lstrip("#")))
    title = " ".join(title.split())[:TITLE_MAX_CHARS]
    media_type = MEDIA_TYPES["markdown" if markdown else "plain"]
    return Document(
        doc_id=doc_id,
        source=source,
        title=title,
        text=text,
        content_hash=content_hash(raw),
        url=url,
        doc_type=classify_doc_type(title, text, url or source, media_type),
        date=iso_date(meta.get("date")) or text_date(text[:DATE_SEARCH_CHARS]),
        language=detect_language(text),
        media_type=media_type,
        headings=headings,
        source_name=source_name,
        warnings=(decoded.warning,) if decoded.warning else (),
    )
