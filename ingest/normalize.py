"""Normalisation of extracted text, shared by every parser.

``normalize_text`` makes any extracted text comparable: NFKC (ligatures such as "ﬁ" become "fi",
no-break spaces become spaces), no soft hyphens, zero-width characters or control characters, single
spaces inside lines, at most one blank line between paragraphs. PDF text needs two more steps that
only make sense with page and line structure: ``dehyphenate`` joins words split at a line end, and
``strip_running_lines`` drops headers, footers and page numbers that recur on most pages.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

# Characters that carry no text: soft hyphen, zero-width space/joiners, word joiner, BOM.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
# Line and paragraph separators of all kinds become plain newlines.
_NEWLINES = re.compile(r"\r\n?|[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_INLINE_SPACE = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# Category Cc except "\n" (tabs are gone by then), and lone surrogates, which no encoder accepts.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")

# Words after which a trailing hyphen is a German "Ergänzungsstrich" ("Bau- und Verkehrsministerium"),
# not a line-break hyphen.
_CONJUNCTIONS = frozenset({"und", "oder", "bzw", "sowie", "bis", "als", "noch", "wie", "respektive"})
_LINE_BREAK_HYPHEN = re.compile(
    r"(?P<left>[^\W\d_]+)(?P<hyphen>[-\u2010\u2011\u00ad])[ \t]*\r?\n[ \t]*(?P<right>[^\W_]\w*)"
)

_PAGE_NUMBER = re.compile(
    r"""^(?:
        (?:seite|page|s\.)\s*\d+(?:\s*(?:von|of|/)\s*\d+)?   # Seite 3 von 12, Page 3 of 12, S. 3
      | [-–—]?\s*\d{1,4}\s*[-–—]?                           # 3, - 3 -
      | \d{1,4}\s*(?:/|von|of)\s*\d{1,4}                     # 3/12, 3 von 12
      | (?=[ivxlc])c{0,3}(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3}) # roman page numbers
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_DIGITS = re.compile(r"\d+")
_EDGE_NUMBER = re.compile(r"^\d{1,4}\s+|\s+\d{1,4}$")

# How many lines at the top and at the bottom of a page can be running headers or footers.
RUNNING_ZONE_LINES = 3


def normalize_text(text: str) -> str:
    """NFKC, invisible and control characters removed, spaces collapsed, paragraphs kept.

    Single newlines (line structure) survive; runs of blank lines become one blank line, so
    paragraphs stay separated by exactly ``"\\n\\n"``. Leading and trailing whitespace is dropped.
    """
    text = text.translate(_INVISIBLE)
    text = _NEWLINES.sub("\n", text)
    text = text.replace("\t", " ")
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub("", text)
    text = _INLINE_SPACE.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def dehyphenate(text: str) -> str:
    """Join words split by a hyphen at a line end.

    "Kreislauf-\\nwirtschaft" becomes "Kreislaufwirtschaft"; a hyphen that belongs to the word stays
    when the continuation starts upper-case or with a digit ("Nordrhein-\\nWestfalen" ->
    "Nordrhein-Westfalen", "E-\\nMobilität" -> "E-Mobilität", "2021-\\n2027"), and "Bau-\\nund" keeps
    its space ("Bau- und"). A soft hyphen before the line end always joins. Run it before
    ``normalize_text``, which deletes soft hyphens.
    """

    def join(match: re.Match[str]) -> str:
        left, right = match["left"], match["right"]
        if match["hyphen"] == "\u00ad":  # a discretionary hyphen only exists to break the line
            return f"{left}{right}"
        if right.lower() in _CONJUNCTIONS:
            return f"{left}- {right}"
        if right[0].islower():
            return f"{left}{right}"
        return f"{left}-{right}"

    return _LINE_BREAK_HYPHEN.sub(join, text)


def is_page_number(line: str) -> bool:
    """A line that is only a page number ("3", "- 3 -", "Seite 3 von 12", "Page 3 of 12", "iv")."""
    return bool(_PAGE_NUMBER.match(line.strip()))


def _line_key(line: str) -> str:
    """Lines that differ only in numbers or case count as the same running line; a page number at
    either end of a header ("49 The Siege of Vicksburg") is no part of it."""
    line = _EDGE_NUMBER.sub("", " ".join(line.lower().split()))
    return _DIGITS.sub("#", line)


def _zone(lines: Sequence[str]) -> list[int]:
    """Indexes of the non-empty lines at the top and at the bottom of a page (fewer on short pages,
    whose body would otherwise lie inside the zone)."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    size = max(1, min(RUNNING_ZONE_LINES, len(filled) // 4))
    return sorted(set(filled[:size] + filled[-size:]))


def strip_running_lines(pages: Sequence[str]) -> list[str]:
    """Remove running headers/footers and page numbers from the texts of a document's pages.

    A line counts as running when (after folding digits and case) it stands among the top or bottom
    lines of at least 60 % of the pages, and of at least two; from four pages on, also when it does
    so on 60 % of the odd or of the even pages (books alternate their headers). Page-number lines
    in those zones go whenever the document has more than one page.
    """
    if len(pages) < 2:
        return list(pages)
    split = [page.split("\n") for page in pages]
    zone_keys = [{_line_key(lines[i]) for i in _zone(lines)} - {""} for lines in split]
    groups = [zone_keys]
    if len(pages) >= 4:
        groups += [zone_keys[0::2], zone_keys[1::2]]
    running: set[str] = set()
    for group in groups:
        counts = Counter(key for keys in group for key in keys)
        threshold = max(2, math.ceil(0.6 * len(group)))
        running.update(key for key, n in counts.items() if n >= threshold)
    cleaned = []
    for lines in split:
        drop = {i for i in _zone(lines) if _line_key(lines[i]) in running or is_page_number(lines[i])}
        cleaned.append("\n".join(line for i, line in enumerate(lines) if i not in drop))
    return cleaned


def headline(line: str, limit: int = 160) -> str:
    """A title made from a text line (for a document without a title of its own): whitespace
    collapsed, and a line longer than ``limit`` cut at a word boundary, marked with "…"."""
    line = " ".join(line.split())
    if len(line) <= limit:
        return line
    cut = line.rfind(" ", 0, limit)
    return line[: cut if cut > limit // 2 else limit].rstrip(" ,;:-–") + " …"
