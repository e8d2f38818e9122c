"""Column reading order of PDF pages whose content stream interleaves the columns line by line.

Pure tests build pages from character boxes (``Char``); the PDF test writes a real file with fpdf2
that draws two columns line by line, and parses it through PDFium. The real-world case (the US tax
instructions in ../shared/realworld) is measured by tests/ingest/test_parse_realworld.py's snippets.
"""

from __future__ import annotations

import pytest
from fpdf import FPDF

from ingest.parse_pdf import parse_pdf
from ingest.pdf_layout import Char, interleaved, reading_order

LEFT = [
    "Der Kreis Unna erhält aus dem Programm",
    "zusammen 47,5 Millionen Euro für sieben",
    "Projekte, darunter den Gewerbepark in",
    "Bergkamen-Heil und die Fernwärme in",
    "Lünen, deren Umbau im Jahr 2024 begann",
    "und bis zum Ende des Jahrzehnts dauert.",
    "Die Wirtschaftsförderung koordiniert",
    "die Vorhaben und berichtet jedes Jahr",
    "über den Stand der Bewilligungen und",
    "die Zahl der neuen Arbeitsplätze dort.",
]
RIGHT = [
    "Im Zentrum der Vorstudie zum EcoTecHub",
    "steht die Frage, welche Betriebe der",
    "Kreislaufwirtschaft sich auf der alten",
    "Kraftwerksfläche ansiedeln könnten und",
    "welche Flächen dafür saniert werden",
    "müssen; die Hochschule Bochum prüft",
    "dazu Altlasten, Nachfrage, Modelle für",
    "den Betrieb und die Kosten der Anlagen",
    "und legt ihre Ergebnisse Ende 2024 dem",
    "Rat der Stadt Bergkamen zur Beratung vor.",
]
CHAR_W, LINE_H, TOP = 4.5, 12.0, 700.0


def line_chars(text: str, x: float, y: float) -> list[Char]:
    return [Char(ch, x + i * CHAR_W, y, x + (i + 1) * CHAR_W, y + 9.0) for i, ch in enumerate(text)]


def newline(x: float, y: float) -> Char:
    return Char("\n", x, y, x, y)  # a generated break: no box


def page(order: str, columns: tuple[list[str], list[str]] = (LEFT, RIGHT), heading: str | None = None) -> list[Char]:
    """Characters of a two-column page in content order: ``"lines"`` draws row by row across both
    columns, ``"columns"`` draws the left column, then the right one."""
    left, right = columns
    xs = (50.0, 50.0 + 45 * CHAR_W + 30.0)  # a 30 pt gutter
    chars: list[Char] = []
    if heading:
        chars += [*line_chars(heading, 50.0, TOP + 2 * LINE_H), newline(500.0, TOP + 2 * LINE_H)]
    if order == "lines":
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            y = TOP - i * LINE_H
            chars += [*line_chars(a, xs[0], y), Char(" ", 0, 0, 0, 0), *line_chars(b, xs[1], y), newline(500.0, y)]
    else:
        for column, x in zip((left, right), xs, strict=True):
            for i, text in enumerate(column):
                chars += [*line_chars(text, x, TOP - i * LINE_H), newline(x, TOP - i * LINE_H)]
    return chars


def test_columns_drawn_line_by_line_are_read_column_by_column() -> None:
    chars = page("lines")
    assert interleaved(chars)
    text = reading_order(chars)
    assert text is not None
    assert text.split("\n") == LEFT + RIGHT


def test_columns_drawn_one_after_the_other_keep_their_order() -> None:
    chars = page("columns")
    assert not interleaved(chars)
    assert reading_order(chars) is None


def test_a_heading_over_both_columns_stays_on_top() -> None:
    heading = "Fortschrittsbericht 5-StandorteProgramm: Stand der Projekte im Kreis Unna, Dezember 2024"
    text = reading_order(page("lines", heading=heading))
    assert text is not None
    assert text.split("\n") == [heading, *LEFT, *RIGHT]


def test_a_table_drawn_row_by_row_keeps_its_rows() -> None:
    # two blocks of short cells, mostly figures: row order is what keeps a project with its amount
    projects = [f"Projekt {i:02d} 18,6 Mio. 2023" for i in range(10)]
    amounts = [f"{i * 1.5:.1f} Mio. Euro 2021-{i:02d}" for i in range(10)]
    assert reading_order(page("lines", (projects, amounts))) is None


def test_a_single_column_page_is_left_alone() -> None:
    chars: list[Char] = []
    for i, text in enumerate(LEFT + RIGHT):
        chars += [*line_chars(text + " " + text, 50.0, TOP - i * LINE_H), newline(500.0, TOP - i * LINE_H)]
    assert not interleaved(chars)
    assert reading_order(chars) is None


def two_column_pdf() -> bytes:
    """A real PDF whose content stream draws both columns line by line (as some generators do)."""
    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    pdf.set_font("helvetica", size=9)
    for i, (a, b) in enumerate(zip(LEFT, RIGHT, strict=True)):
        y = 80 + i * 12
        pdf.text(50, y, a)
        pdf.text(310, y, b)
    return bytes(pdf.output())


def test_a_pdf_drawing_its_columns_line_by_line_is_read_column_by_column() -> None:
    doc = parse_pdf(two_column_pdf(), "spalten.pdf", doc_id="s")
    flat = " ".join(doc.text.split())
    assert " ".join(LEFT) in flat and " ".join(RIGHT) in flat
    assert flat.index(LEFT[-1]) < flat.index(RIGHT[0])
    assert any("read column by column" in w and "pages 1)" in w for w in doc.warnings), doc.warnings


def test_characters_placed_at_infinity_are_ignored() -> None:
    # broken files put boxes anywhere: such characters must neither crash the analysis nor size its bins
    wild = [Char("x", 1e30, 0.0, 2e30, 10.0), Char("y", float("nan"), 0.0, float("inf"), 10.0)]
    text = reading_order(page("lines") + wild)
    assert text is not None and text.split("\n") == LEFT + RIGHT


def test_a_failing_column_analysis_keeps_the_drawing_order(monkeypatch: pytest.MonkeyPatch) -> None:
    import ingest.parse_pdf

    def broken(chars: object) -> str | None:
        raise ValueError("unexpected box")

    monkeypatch.setattr(ingest.parse_pdf, "reading_order", broken)
    doc = parse_pdf(two_column_pdf(), "spalten.pdf", doc_id="s")
    assert LEFT[0] in doc.text and RIGHT[0] in doc.text  # all text, in the order the file draws it
    assert not any("column by column" in w for w in doc.warnings)
