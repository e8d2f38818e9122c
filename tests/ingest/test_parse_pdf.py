"""PDF parsing on PDFs generated here with fpdf2 (core fonts: Latin-1, so umlauts, ß and § work)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fpdf import FPDF
from PIL import Image

from core.errors import ParseError
from core.ids import content_hash
from core.models import DocType, Document, FileStatus
from ingest.parse import parse_bytes
from ingest.parse_pdf import garble_score, parse_pdf

PAGES = [
    [
        "Die Förderung der Kreislauf-",
        "wirtschaft in Nordrhein-",
        "Westfalen erfolgt nach § 4 Abs. 2 der Richtlinie.",
        "Antragsberechtigt sind Kommunen und Vereine.",
    ],
    [
        "Das Straßenbau- und Verkehrsministerium fördert E-",
        "Mobilität für Bürgerinnen und Bürger.",
        "Die Bau-",
        "und Wohnungswirtschaft profitiert ebenfalls.",
    ],
    [
        "Im Jahr 2023 flossen 1,2 Mio. Euro an",
        "Vereine in Bottrop, Gladbeck und Herne.",
        "Weitere Mittel folgen im kommenden Haushalt.",
        "Die Bewilligung erfolgt durch die Bezirksregierung.",
    ],
]


class _Report(FPDF):
    def header(self) -> None:
        self.set_font("Helvetica", size=9)
        self.cell(0, 8, "Stadt Gelsenkirchen - Fortschrittsbericht Strukturwandel", new_x="LMARGIN", new_y="NEXT")

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", size=9)
        self.cell(0, 8, f"Seite {self.page_no()} von {{nb}}")


def _report_pdf(title: str = "Fortschrittsbericht Kreislaufwirtschaft 2023") -> bytes:
    pdf = _Report()
    pdf.set_title(title)
    pdf.set_creation_date(datetime(2023, 5, 17, 9, 30, tzinfo=UTC))
    for lines in PAGES:
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        for line in lines:
            pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _one_page(text: str, **encryption: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, text)
    if encryption:
        pdf.set_encryption(**encryption)
    return bytes(pdf.output())


@pytest.fixture(scope="module")
def report():
    return parse_pdf(_report_pdf(), "berichte/fortschritt.pdf", doc_id="r1", source_name="Stadt GE")


def test_text_is_read_page_by_page_with_spans(report) -> None:
    assert [span.page for span in report.pages] == [1, 2, 3]
    for span, lines in zip(report.pages, PAGES, strict=True):
        page_text = report.text[span.start : span.end]
        assert page_text.endswith(lines[-1])
        assert report.page_at(span.start) == span.page
    assert report.text[report.pages[0].end : report.pages[1].start] == "\n\n"


def test_running_header_and_page_numbers_are_removed(report) -> None:
    assert "Stadt Gelsenkirchen - Fortschrittsbericht" not in report.text
    assert "Seite" not in report.text
    assert "von 3" not in report.text


def test_line_break_hyphens_are_resolved(report) -> None:
    assert "Kreislaufwirtschaft" in report.text
    assert "Nordrhein-Westfalen" in report.text
    assert "E-Mobilität" in report.text
    assert "Bau- und Wohnungswirtschaft" in report.text
    assert "Straßenbau- und Verkehrsministerium" in report.text
    assert "§ 4 Abs. 2" in report.text


def test_metadata(report) -> None:
    assert report.title == "Fortschrittsbericht Kreislaufwirtschaft 2023"
    assert report.date == "2023-05-17"
    assert report.language == "de"
    assert report.doc_type is DocType.PROGRESS_REPORT
    assert report.media_type == "application/pdf"
    assert report.source_name == "Stadt GE"
    assert report.content_hash == content_hash(_report_pdf())


def test_placeholder_metadata_title_falls_back_to_the_first_line() -> None:
    parsed = parse_pdf(_report_pdf(title="Microsoft Word - bericht_final.docx"), "b.pdf", doc_id="r")
    assert parsed.title == (
        "Die Förderung der Kreislaufwirtschaft in Nordrhein-Westfalen erfolgt nach § 4 Abs. 2 der Richtlinie."
    )


def test_encrypted_with_user_password() -> None:
    raw = _one_page("Vertrauliche Fördermittelliste der Stadt Bochum", owner_password="eigner", user_password="geheim")
    with pytest.raises(ParseError) as caught:
        parse_pdf(raw, "geheim.pdf", doc_id="e")
    assert caught.value.status is FileStatus.ENCRYPTED
    assert "password" in caught.value.reason


def test_encrypted_with_empty_user_password_is_read() -> None:
    raw = _one_page("Offene Fördermittelliste der Stadt Bochum für Vereine und Initiativen", owner_password="eigner")
    parsed = parse_pdf(raw, "offen.pdf", doc_id="o")
    assert parsed.text == "Offene Fördermittelliste der Stadt Bochum für Vereine und Initiativen"


def test_image_only_pages_need_ocr() -> None:
    pdf = FPDF()
    for _ in range(2):
        pdf.add_page()
        pdf.image(Image.new("L", (400, 200), 200), x=10, y=10, w=180)
    with pytest.raises(ParseError) as caught:
        parse_pdf(bytes(pdf.output()), "scan.pdf", doc_id="s")
    assert caught.value.status is FileStatus.NEEDS_OCR
    assert "2 of 2 pages are images" in caught.value.reason


def test_blank_pages_are_empty() -> None:
    pdf = FPDF()
    pdf.add_page()
    with pytest.raises(ParseError) as caught:
        parse_pdf(bytes(pdf.output()), "leer.pdf", doc_id="l")
    assert caught.value.status is FileStatus.EMPTY


def test_unreadable_bytes_fail_with_both_engines_named() -> None:
    with pytest.raises(ParseError) as caught:
        parse_pdf(b"%PDF-1.4\nkaputt\n%%EOF", "kaputt.pdf", doc_id="k")
    assert caught.value.status is FileStatus.FAILED
    assert "pdfium: " in caught.value.reason and "pypdf: " in caught.value.reason


def test_truncated_pdf_fails_gracefully_or_yields_text() -> None:
    raw = _report_pdf()
    for cut in (0.3, 0.6, 0.9):
        outcome = _parse_or_error(raw[: int(len(raw) * cut)], "halb.pdf")
        if isinstance(outcome, ParseError):
            assert outcome.status in (FileStatus.FAILED, FileStatus.EMPTY)
            assert outcome.reason
        else:
            assert outcome.text


def _parse_or_error(raw: bytes, name: str) -> Document | ParseError:
    try:
        return parse_pdf(raw, name, doc_id="h")
    except ParseError as err:
        return err


def test_page_limit_is_reported() -> None:
    parsed = parse_pdf(_report_pdf(), "b.pdf", doc_id="r", max_pages=2)
    assert len(parsed.pages) == 2
    assert "read 2 of 3 pages" in parsed.warnings


def test_parse_bytes_sniffs_a_pdf_behind_a_wrong_suffix() -> None:
    parsed = parse_bytes(_report_pdf(), "b.html", doc_id="r", suffix_hint=".html", content_type="text/html")
    assert parsed.media_type == "application/pdf"
    assert "announced as html but the bytes are a PDF" in parsed.warnings


def test_garble_score() -> None:
    assert garble_score("Die Förderung der Kreislaufwirtschaft nach § 4 Abs. 2") == 0.0
    assert garble_score("\ue000\ue001\ue002 ab") > 0.5  # private-use glyphs
    assert garble_score("\ufffd\ufffd Text") > 0.1
    shifted = "Glh Vwdgw Jhovhqnlufkhq hukdhow Irhughuplwwho ixhu ghq Xpedx ghu Lqqhqvwdgw xqg qhxh Udgzhjh. "
    assert garble_score(shifted * 4) == 1.0  # a Caesar-shifted font encoding
    assert garble_score("3HQČåQtSURVWĜHGN\\QD~þWHFK 3HQČåQtSURVWĜHGN QD~þWHFK SURVWĜHGN") == 1.0  # too few vowels
    assert garble_score("Bottrop Gladbeck Herne Bochum Dortmund Essen Hamm Witten " * 6) == 0.0  # a list is text
    assert garble_score("") == 0.0
