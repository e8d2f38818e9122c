"""Stem-aware highlighting and snippets.

A word of a passage is highlighted when its stem equals a query stem, or when it is a compound that
contains a query stem of at least five letters ("Kreislaufwirtschaft" marks
"kreislaufwirtschaftlichen" and "Abfallkreislaufwirtschaft"). Uses the same tokenizer as the index.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from core.analysis import tokenize

MIN_PART = 5


def match_spans(text: str, stems: Iterable[str]) -> list[tuple[int, int]]:
    """Offsets ``(start, end)`` in ``text`` of the words that match a query stem."""
    wanted = frozenset(stems)
    long_parts = [s for s in wanted if len(s) >= MIN_PART and not s.isdigit()]
    spans: list[tuple[int, int]] = []
    for tok in tokenize(text):
        if tok.stem in wanted or any(part in tok.stem for part in long_parts):
            if spans and tok.start < spans[-1][1]:  # hyphen parts overlap their compound
                spans[-1] = (spans[-1][0], max(spans[-1][1], tok.end))
            else:
                spans.append((tok.start, tok.end))
    return spans


def mark(text: str, spans: list[tuple[int, int]], open_tag: str = "<mark>", close_tag: str = "</mark>") -> str:
    """HTML-escaped ``text`` with the spans wrapped in tags (safe to put into a page)."""
    out: list[str] = []
    pos = 0
    for a, b in spans:
        out.append(html.escape(text[pos:a]))
        out.append(open_tag + html.escape(text[a:b]) + close_tag)
        pos = b
    out.append(html.escape(text[pos:]))
    return "".join(out)


def snippet_window(text: str, spans: list[tuple[int, int]], width: int = 320) -> tuple[int, int]:
    """The ``[start, end)`` window of about ``width`` characters with the most matches, on word bounds."""
    if len(text) <= width:
        return 0, len(text)
    best_start, best_n = 0, -1
    for a, _ in spans or [(0, 0)]:
        start = max(0, a - width // 4)
        n = sum(1 for x, y in spans if x >= start and y <= start + width)
        if n > best_n:
            best_start, best_n = start, n
    start = best_start
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    end = min(len(text), start + width)
    while end < len(text) and not text[end].isspace():
        end += 1
    return start, end
