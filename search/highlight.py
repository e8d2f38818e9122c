"""Stem-aware highlighting and snippets: the one implementation every front end formats.

``snippet(text, spans)`` picks the window of a passage to show and the highlighted spans inside it; the
CLI prints it with terminal markup, the API and the web page as HTML (``Snippet.html``). The window
length is ``SNIPPET_CHARS``.

A word of a passage is highlighted when its stem equals a query stem, or when it is a compound that
contains a query stem of at least five letters ("Kreislaufwirtschaft" marks
"kreislaufwirtschaftlichen" and "Abfallkreislaufwirtschaft"). Uses the same tokenizer as the index.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass

from core.analysis import stem_spans

MIN_PART = 5
SNIPPET_CHARS = 320  # about two lines of a result list


def match_spans(text: str, stems: Iterable[str]) -> list[tuple[int, int]]:
    """Offsets ``(start, end)`` in ``text`` of the words that match a query stem."""
    wanted = frozenset(stems)
    long_parts = [s for s in wanted if len(s) >= MIN_PART and not s.isdigit()]
    spans: list[tuple[int, int]] = []
    matches: dict[str, bool] = {}  # a passage repeats its words: each stem is decided once
    for start, end, stem in stem_spans(text):
        match = matches.get(stem)
        if match is None:
            match = matches[stem] = stem in wanted or any(part in stem for part in long_parts)
        if match:
            if spans and start < spans[-1][1]:  # hyphen parts overlap their compound
                spans[-1] = (spans[-1][0], max(spans[-1][1], end))
            else:
                spans.append((start, end))
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


@dataclass(frozen=True)
class Snippet:
    """``text`` is the shown window of a passage; ``spans`` are the highlights, offsets into ``text``;
    ``cut_before``/``cut_after`` say whether the passage goes on before/after the window."""

    text: str
    spans: tuple[tuple[int, int], ...]
    cut_before: bool
    cut_after: bool

    def html(self) -> str:
        """Escaped HTML with ``<mark>`` around the highlights and "…" where the passage was cut."""
        return ("… " if self.cut_before else "") + mark(self.text, list(self.spans)) + (" …" if self.cut_after else "")


def snippet(text: str, spans: list[tuple[int, int]], width: int = SNIPPET_CHARS) -> Snippet:
    """The window of ``text`` with the most highlights (``snippet_window``) and the highlights in it."""
    a, b = snippet_window(text, spans, width)
    inner = tuple((x - a, y - a) for x, y in spans if x >= a and y <= b)
    return Snippet(text[a:b], inner, a > 0, b < len(text))


def snippet_window(text: str, spans: list[tuple[int, int]], width: int = SNIPPET_CHARS) -> tuple[int, int]:
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
