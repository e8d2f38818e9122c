"""Reading order of a PDF page whose columns the content stream interleaves line by line.

Most PDFs draw each column top to bottom, and the extraction reads them in that order. Some generators
draw the page line by line across all columns (the US tax instructions among the real-world files),
and the text then comes out as "line 1 of column 1, line 1 of column 2, ...". ``reading_order``
recognises that case from the characters' boxes and reorders the characters column by column; for any
other page it returns None and the content order stands.

Pure: characters with their boxes in, text out. Conservative on purpose, because reading a table
column by column would tear its rows apart: it acts only when

- a vertical gutter (an empty strip at least ``MIN_GUTTER_PT`` wide) runs through the text area, with
  at least ``MIN_COLUMN_SHARE`` of its width on either side,
- each column holds at least ``MIN_COLUMN_ROWS`` rows of running text: the median row fills at least
  ``MIN_ROW_FILL`` of the column's width and has at least ``MIN_ROW_CHARS`` characters, and most of
  the column's characters are letters (table cells are shorter, and full of figures),
- and the content order is interleaved: of the rows that reach into two or more columns, at least
  ``MIN_INTERLEAVED_ROWS`` go from one column straight to the next (a page drawn column after column
  has none; a table beside the columns has a few).

``interleaved`` runs the same tests on the page's runs of text (a few hundred boxes, where the
characters are thousands), so that only a page that passes them has its characters read.

Rows that cross a gutter (a heading or footer over the full width) split the page into bands; each
band is read column after column, and the crossing rows stay where they are, top to bottom.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MIN_GUTTER_PT = 6.0
MIN_COLUMN_SHARE = 0.18
MIN_COLUMN_ROWS = 8
MIN_ROW_FILL = 0.55
MIN_ROW_CHARS = 20
MIN_LETTER_SHARE = 0.6
MIN_INTERLEAVED_ROWS = 0.6
MAX_COORDINATE = 15_000.0  # points; PDF pages are at most 14,400 wide (user units aside)
MAX_CROSSING_SHARE = 0.2  # a gutter crossed by more rows than this is no gutter


@dataclass(frozen=True)
class Char:
    """One character of the page's text as the extraction produced it, with its box in PDF points
    (``left < right``, ``bottom < top``); generated spaces and line breaks may have empty boxes."""

    text: str
    left: float
    bottom: float
    right: float
    top: float

    @property
    def visible(self) -> bool:
        """A drawn character with a box that lies on a page (broken files have boxes at infinity)."""
        return (
            bool(self.text.strip())
            and -MAX_COORDINATE < self.left < self.right < MAX_COORDINATE
            and -MAX_COORDINATE < self.bottom < self.top < MAX_COORDINATE
        )


@dataclass(frozen=True)
class _Layout:
    rows: list[list[Char]]  # top row first
    row_of: dict[int, int]  # id(char) -> row
    column_of: dict[int, int]  # id(char) -> column, -1 in a row that crosses a gutter
    crossing: set[int]
    columns: int


def interleaved(boxes: Sequence[Char]) -> bool:
    """Whether the page's columns are drawn line by line: ``boxes`` in content order (text runs or
    characters). The cheap pre-check of ``reading_order``."""
    layout = _layout(boxes, prose=False)
    return layout is not None and _interleaved(boxes, layout)


def reading_order(chars: Sequence[Char]) -> str | None:
    """The page's text read column by column, or None when the page is not a line-interleaved
    multi-column page (see the module docstring)."""
    layout = _layout(chars, prose=True)
    if layout is None or not _interleaved(chars, layout):
        return None
    band_of_row, band = [], 0
    for r in range(len(layout.rows)):
        band += r in layout.crossing
        band_of_row.append(band)
    # a piece per crossing row and per column of a band; spaces and breaks go with the character before
    pieces: dict[tuple[int, int, int], list[str]] = {}
    last_row: dict[tuple[int, int, int], int] = {}
    current: tuple[int, int, int] | None = None
    for c in chars:
        if not c.visible:
            if current is not None and c.text.strip() == "" and c.text not in "\r\n":
                pieces[current].append(" ")
            continue
        r, column = layout.row_of[id(c)], layout.column_of[id(c)]
        current = (band_of_row[r], 0, r) if column < 0 else (band_of_row[r], 1, column)
        out = pieces.setdefault(current, [])
        if current in last_row and last_row[current] != r:
            out.append("\n")
        last_row[current] = r
        out.append(c.text)
    # top to bottom: bands in order; in a band, its crossing row above its columns, columns left to right
    lines = (line.strip() for k in sorted(pieces) for line in "".join(pieces[k]).split("\n"))
    return "\n".join(line for line in lines if line)


def _layout(chars: Sequence[Char], *, prose: bool) -> _Layout | None:
    visible = [c for c in chars if c.visible]
    if len(visible) < MIN_COLUMN_ROWS * 2:
        return None
    rows = _rows(visible)
    gutters = _gutters(visible, rows)
    if not gutters:
        return None
    crossing = {r for r, members in enumerate(rows) if any(_crosses(c, gutters) for c in members)}
    if len(crossing) > MAX_CROSSING_SHARE * len(rows):
        return None
    row_of = {id(c): r for r, members in enumerate(rows) for c in members}
    column_of = {id(c): -1 if row_of[id(c)] in crossing else _column(c, gutters) for c in visible}
    layout = _Layout(rows, row_of, column_of, crossing, len(gutters) + 1)
    return layout if not prose or _running_text(layout) else None


def _interleaved(chars: Sequence[Char], layout: _Layout) -> bool:
    """Of the rows with text in two or more columns, enough go from one column straight to another."""
    columns_of_row: dict[int, set[int]] = {}
    switching: set[int] = set()
    previous = (-1, -1)  # (row, column) of the last visible character
    for c in chars:
        if not c.visible:
            continue
        here = (layout.row_of[id(c)], layout.column_of[id(c)])
        if here[1] >= 0:
            columns_of_row.setdefault(here[0], set()).add(here[1])
            if previous[0] == here[0] and previous[1] != here[1]:
                switching.add(here[0])
        previous = here
    shared = sum(len(found) > 1 for found in columns_of_row.values())
    return shared > 0 and len(switching) >= MIN_INTERLEAVED_ROWS * shared


def _rows(visible: Sequence[Char]) -> list[list[Char]]:
    """The visible characters grouped into rows, top row first: a character whose vertical middle lies
    within the span of the row above (all its members so far: descenders and commas included) joins it."""
    rows: list[list[Char]] = []
    bottom = top = 0.0
    for c in sorted(visible, key=lambda c: -(c.bottom + c.top)):
        middle = (c.bottom + c.top) / 2
        if rows and bottom <= middle <= top:
            rows[-1].append(c)
            bottom, top = min(bottom, c.bottom), max(top, c.top)
        else:
            rows.append([c])
            bottom, top = c.bottom, c.top
    return rows


def _gutters(visible: Sequence[Char], rows: Sequence[Sequence[Char]]) -> list[tuple[float, float]]:
    """Vertical strips of the text area that (almost) no row covers: (left, right) in points, each
    narrowed to its core, where the fewest rows reach (ragged line ends thin out towards it)."""
    left = min(c.left for c in visible)
    right = max(c.right for c in visible)
    width = right - left
    if width <= 0:
        return []
    bins = int(width) + 1
    change = [0] * (bins + 1)  # rows covering each 1-pt bin, as a difference array
    for row in rows:
        end = -1
        for first, last in sorted((int(c.left - left), min(bins - 1, int(c.right - left))) for c in row):
            first = max(first, end + 1)  # count each bin once per row
            if last >= first:
                change[first] += 1
                change[last + 1] -= 1
                end = last
    covered, running = [], 0
    for delta in change[:bins]:
        running += delta
        covered.append(running)
    limit = MAX_CROSSING_SHARE * len(rows)
    gutters: list[tuple[float, float]] = []
    start = None
    for b in range(bins + 1):
        empty = b < bins and covered[b] <= limit
        if empty and start is None:
            start = b
        elif not empty and start is not None:
            lo, hi = left + start, left + b
            wide = hi - lo >= MIN_GUTTER_PT
            if wide and lo - left >= MIN_COLUMN_SHARE * width and right - hi >= MIN_COLUMN_SHARE * width:
                least = min(covered[start:b])
                core = [i for i in range(start, b) if covered[i] == least]
                gutters.append((left + core[0], left + core[-1] + 1))
            start = None
    edges = [left, *(x for g in gutters for x in g), right]
    spans = [edges[i + 1] - edges[i] for i in range(0, len(edges), 2)]
    return gutters if all(s >= MIN_COLUMN_SHARE * width for s in spans) else []


def _crosses(c: Char, gutters: Sequence[tuple[float, float]]) -> bool:
    return any(c.left < hi and c.right > lo for lo, hi in gutters)


def _column(c: Char, gutters: Sequence[tuple[float, float]]) -> int:
    middle = (c.left + c.right) / 2
    return sum(middle >= hi for _, hi in gutters)


def _running_text(layout: _Layout) -> bool:
    """Every column has enough rows, and its rows mostly fill its width and are mostly letters (prose,
    not the cells of a table)."""
    parts: list[list[list[Char]]] = [[] for _ in range(layout.columns)]  # column -> its part of each row
    for r, members in enumerate(layout.rows):
        if r in layout.crossing:
            continue
        by_column: dict[int, list[Char]] = {}
        for c in members:
            by_column.setdefault(layout.column_of[id(c)], []).append(c)
        for column, part in by_column.items():
            parts[column].append(part)
    for column_parts in parts:
        if len(column_parts) < MIN_COLUMN_ROWS:
            return False
        lo = min(c.left for part in column_parts for c in part)
        hi = max(c.right for part in column_parts for c in part)
        widths = sorted(max(c.right for c in part) - min(c.left for c in part) for part in column_parts)
        counts = sorted(len(part) for part in column_parts)
        letters = sum(c.text.isalpha() for part in column_parts for c in part)
        middle = len(column_parts) // 2
        if widths[middle] < MIN_ROW_FILL * (hi - lo) or counts[middle] < MIN_ROW_CHARS:
            return False
        if letters < MIN_LETTER_SHARE * sum(counts):
            return False
    return True
