"""HTML bytes -> ``Document``: the main text by trafilatura, structure and metadata kept.

trafilatura finds the main content (favouring precision: navigation, teasers and footers are what
ruins a search index) and returns it as a small XML tree (``head``, ``p``, ``list``/``item``,
``table``/``row``/``cell``, ``quote``, ``lb``). That tree is serialised here, not by trafilatura, so
that paragraphs are separated by ``"\\n\\n"`` and every h1-h3 heading's offset into the final text
is known exactly. Title and date come from trafilatura's metadata, with the page's own ``<title>``,
Open Graph and date markup as fallbacks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from lxml.html import HtmlElement

from core.errors import ParseError
from core.ids import content_hash
from core.models import Document, FileStatus, Heading
from ingest.dates import iso_date, text_date
from ingest.decode import GZIP_MAGIC, decode_text, gunzip
from ingest.doctype import classify_doc_type
from ingest.language import detect_language
from ingest.normalize import headline, normalize_text

if TYPE_CHECKING:
    from trafilatura.settings import Document as TrafilaturaDocument

MEDIA_TYPE = "text/html"
# An inflated page larger than this is not a web page (compressed-size limits are the caller's).
MAX_INFLATED_BYTES = 50_000_000
# htmldate rejects dates after ``max_date`` (default: today). A fixed bound keeps parsing a pure
# function of its input; the price is accepting a future date written in a page. Its extensive
# search is off: it loads dateparser's locales (5 s per process) and guesses "2022-01-01" from a
# bare year; the first date at the start of the main text is the cheaper, better fallback.
DATE_PARAMS = {"original_date": True, "extensive_search": False, "max_date": "2099-12-31"}
DATE_SEARCH_CHARS = 1500
MAX_HEADING_LEVEL = 3
# Fewer words than this are what extractors leave of a page without content ("Start", "Kontakt").
MIN_WORDS = 5
TITLE_MAX_CHARS = 300
_REFRESH_URL = re.compile(r"""^\s*[\d.]*\s*[;,]?\s*url\s*=\s*['"]?([^'"]+)""", re.IGNORECASE)

_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_HEADING_REND = re.compile(r"h([1-6])")
_WORD = re.compile(r"[^\W\d_]{2,}")

# trafilatura's output tags that start a new block (paragraph) of the text.
_BLOCK_TAGS = frozenset({"body", "div", "p", "head", "list", "item", "table", "row", "quote", "code", "pre"})
_DATE_META = (
    "article:published_time",
    "og:published_time",
    "date",
    "dc.date",
    "dc.date.issued",
    "dcterms.date",
    "dcterms.issued",
    "publishdate",
    "pubdate",
    "publication_date",
)


@dataclass(frozen=True)
class _Block:
    text: str
    heading_level: int | None = None


def sniff_charset(raw: bytes) -> str | None:
    """The charset an HTML document declares in its first bytes (``<meta charset>``, XML declaration)."""
    head = raw[:8192]
    match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    return match.group(1).decode("ascii") if match else None


def _first(tree: HtmlElement, xpath: str) -> str | None:
    for value in tree.xpath(xpath):
        text = value if isinstance(value, str) else value.text_content()
        text = " ".join(str(text).split())
        if text:
            return text
    return None


@dataclass(frozen=True)
class _PageMeta:
    """What the page's own markup says, read before trafilatura prunes the tree."""

    title: str | None
    date: str | None
    canonical: str | None
    lang: str | None


def _page_meta(tree: HtmlElement) -> _PageMeta:
    title = _first(tree, "//meta[@property='og:title' or @name='og:title']/@content") or _first(tree, "//title")
    title = title or _first(tree, "//h1")
    found = None
    for name in _DATE_META:
        value = _first(
            tree,
            "//meta[translate(@property,'ABCDEFGHIJKLMNOPQRSTUVWXYZ','abcdefghijklmnopqrstuvwxyz')="
            f"'{name}' or translate(@name,'ABCDEFGHIJKLMNOPQRSTUVWXYZ','abcdefghijklmnopqrstuvwxyz')="
            f"'{name}']/@content",
        )
        found = iso_date(value)
        if found:
            break
    found = found or iso_date(_first(tree, "//time/@datetime"))
    canonical = _first(tree, "//link[contains(concat(' ', normalize-space(@rel), ' '), ' canonical ')]/@href")
    if canonical and not canonical.startswith(("http://", "https://")):
        canonical = None  # relative: no base to resolve it against
    lang = _first(tree, "/html/@lang | /html/@xml:lang")
    return _PageMeta(title, found, canonical, lang.split("-")[0].lower()[:3] if lang else None)


def _inline_text(element: HtmlElement) -> str:
    """Text of an element and its inline children; ``<lb>`` is a line break, table cells ` | `."""
    parts = [element.text or ""]
    for child in element:
        if child.tag == "lb":
            parts.append("\n")
        elif child.tag == "cell":
            parts.append(_inline_text(child) + " | ")
        elif isinstance(child.tag, str):
            parts.append(_inline_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _blocks(element: HtmlElement, out: list[_Block]) -> None:
    """Flatten trafilatura's output tree into blocks in document order."""
    level = None
    if element.tag == "head":
        rend = _HEADING_REND.fullmatch(element.get("rend") or "")
        level = int(rend.group(1)) if rend else MAX_HEADING_LEVEL
    buffer = [element.text or ""]

    def flush() -> None:
        text = normalize_text("".join(buffer)).strip(" |")
        if text:
            out.append(_Block(text, level))
        buffer.clear()

    for child in element:
        if child.tag in _BLOCK_TAGS:
            flush()
            _blocks(child, out)
        elif child.tag == "lb":
            buffer.append("\n")
        elif child.tag == "cell":
            buffer.append(_inline_text(child) + " | ")
        elif isinstance(child.tag, str):
            buffer.append(_inline_text(child))
        buffer.append(child.tail or "")
    flush()


def _assemble(blocks: list[_Block]) -> tuple[str, tuple[Heading, ...]]:
    """Join blocks with blank lines; record h1-h3 headings at their offsets."""
    parts: list[str] = []
    headings: list[Heading] = []
    offset = 0
    for block in blocks:
        if parts:
            offset += 2
        if block.heading_level is not None and block.heading_level <= MAX_HEADING_LEVEL:
            headings.append(Heading(start=offset, level=block.heading_level, text=" ".join(block.text.split())))
        parts.append(block.text)
        offset += len(block.text)
    return "\n\n".join(parts), tuple(headings)


def _extract(tree: HtmlElement, url: str | None, *, recall: bool) -> TrafilaturaDocument | None:
    import trafilatura

    extracted = trafilatura.bare_extraction(
        tree,
        url=url,
        favor_precision=not recall,
        favor_recall=recall,
        include_comments=False,
        include_tables=True,
        include_formatting=False,
        with_metadata=True,
        date_extraction_params=dict(DATE_PARAMS),
    )
    assert not isinstance(extracted, dict), "as_dict is off"
    return extracted


def refresh_target(content: str) -> str | None:
    """The URL of a meta refresh ``content`` ("0; URL=/neu/seite.html") as written; None without one."""
    match = _REFRESH_URL.match(content)
    return (match[1].strip() or None) if match else None


def meta_refresh(meta: HtmlElement) -> str | None:
    """The forward target of a ``<meta http-equiv="refresh">`` element as written; None for any other."""
    if (meta.get("http-equiv") or "").strip().lower() != "refresh":
        return None
    return refresh_target(meta.get("content") or "")


def _meta_refresh(tree: HtmlElement) -> str | None:
    return next((target for meta in tree.iter("meta") if (target := meta_refresh(meta))), None)


def parse_html(
    raw: bytes,
    source: str,
    *,
    doc_id: str,
    url: str | None = None,
    source_name: str | None = None,
    charset: str | None = None,
) -> Document:
    """Parse an HTML page. ``charset`` is the HTTP header's, if any; it outranks the page's own.

    Raises ParseError(EMPTY) when the page has no main text, ParseError(FAILED) when it cannot be
    read as HTML at all.
    """
    import trafilatura

    warnings: list[str] = []
    data = raw
    if data.startswith(GZIP_MAGIC):
        data = gunzip(data, MAX_INFLATED_BYTES)
        warnings.append("gzip-compressed page inflated")
    decoded = decode_text(data, charset or sniff_charset(data))
    if decoded.warning:
        warnings.append(decoded.warning)
    tree = trafilatura.load_html(decoded.text)
    if tree is None:
        raise ParseError(FileStatus.EMPTY, "no HTML tree could be built (empty or not HTML)")
    meta = _page_meta(tree)
    page_url = url or meta.canonical

    extracted = _extract(tree, page_url, recall=False)
    blocks: list[_Block] = []
    if extracted is not None:
        _blocks(extracted.body, blocks)
    if not blocks:
        extracted = _extract(tree, page_url, recall=True)
        if extracted is not None:
            _blocks(extracted.body, blocks)
            if blocks:
                warnings.append("precise extraction found no main text; used recall mode")
    text, headings = _assemble(blocks)
    words = len(_WORD.findall(text))
    if words < MIN_WORDS:
        detail = f"only {words} word(s) left, e.g. a navigation remnant" if words else "none found"
        moved = _meta_refresh(tree)
        if moved:
            moved = urljoin(page_url, moved) if page_url else moved
            detail += f"; the page forwards to {moved} (meta refresh), which a crawl follows"
        raise ParseError(FileStatus.EMPTY, f"no main text in the HTML page ({detail})")

    title = (extracted.title if extracted is not None else None) or meta.title or headline(text.split("\n", 1)[0])
    title = " ".join(title.split())[:TITLE_MAX_CHARS]
    found_date = (
        iso_date(extracted.date if extracted is not None else None) or meta.date or text_date(text[:DATE_SEARCH_CHARS])
    )
    return Document(
        doc_id=doc_id,
        source=source,
        title=title,
        text=text,
        content_hash=content_hash(raw),
        url=page_url,
        doc_type=classify_doc_type(title, text, page_url or source, MEDIA_TYPE),
        date=found_date,
        language=detect_language(text) or meta.lang,
        media_type=MEDIA_TYPE,
        headings=headings,
        source_name=source_name,
        warnings=tuple(warnings),
    )
