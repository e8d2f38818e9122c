"""OCR page by page: which pages are read (text page, scanned page, mixed file, garbled layer), what
the real Tesseract reads from generated German scans (CER at the default resolution), and the
limits (page cap, time budget, confidence floor, progress). The scans are made by
``evaluation.quality.ocr_pages`` (DejaVu Sans, noise, skew); nothing here is a stored expected text."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ParseError
from core.models import FileStatus
from core.settings import Settings
from evaluation.quality.ocr_pages import ScanStyle, cer, levenshtein, page_text, scanned_pdf
from ingest.ocr import OcrOptions, find_tessdata
from ingest.parse_pdf import GARBLED_LAYER, SCANNED, parse_pdf, select_ocr_pages

DIGITAL = (
    "Zwischenbericht 2024: Die Stadt Bergkamen berichtet über den Fortschritt der Förderprojekte im Kreis Unna. "
    "Für die Sanierung der Ökosiedlung stehen 2,4 Mio. Euro nach § 4 Abs. 2 bereit."
)
ONLY_IN_IMAGE = "Die Grubenwasserwärmepumpe in Bönen spart jährlich 412 Tonnen Kohlendioxid."

needs_tesseract = pytest.mark.skipif(
    find_tessdata(OcrOptions())[0] is None,
    reason="needs Tesseract's German model (apt-get install tesseract-ocr tesseract-ocr-deu; scripts/test.sh does)",
)


def _page_of(doc, number: int) -> str:
    span = doc.pages[number - 1]
    return doc.text[span.start : span.end]


# --- the edit distance and CER themselves (written out by hand)


def test_cer_is_edits_over_reference_length() -> None:
    assert levenshtein("Straße", "Strasse") == 2  # ß -> s, one s inserted
    assert cer("Straße", "Strasse") == 2 / 6
    assert cer("Förder  mittel\nfür", "Förder mittel für") == 0.0  # whitespace is layout
    assert cer("Bönen", "") == 1.0
    assert levenshtein("", "abc") == 3 and levenshtein("Kohle", "Kohle") == 0


# --- which pages (pure)


def test_a_text_page_is_not_read_by_ocr() -> None:
    assert select_ocr_pages([DIGITAL], [True], [(200, 0)]) == []  # a logo beside real text: keeps its text


def test_a_scanned_page_is_read_by_ocr() -> None:
    assert select_ocr_pages(["", "  3 "], [True, True], [(0, 0), (2, 0)]) == [(0, SCANNED), (1, SCANNED)]


def test_an_empty_page_without_an_image_is_not_read() -> None:
    assert select_ocr_pages([""], [False], [(0, 0)]) == []


def test_a_mixed_file_reads_only_its_scanned_and_garbled_pages() -> None:
    garbage = "\ue000\ue001\ue002 " * 40  # private-use glyphs: a layer that is not text
    unmapped = DIGITAL  # a plausible-looking layer whose glyphs PDFium could not map
    pages = [DIGITAL, "", garbage, unmapped]
    selected = select_ocr_pages(pages, [False, True, False, False], [(200, 0), (0, 0), (120, 0), (200, 150)])
    assert selected == [(1, SCANNED), (2, GARBLED_LAYER), (3, GARBLED_LAYER)]


# --- the real Tesseract on generated scans


@pytest.fixture(scope="module")
def scans() -> tuple[list[str], bytes]:
    texts = [page_text(seed) for seed in (1, 2)]
    return texts, scanned_pdf(texts)


@needs_tesseract
def test_scanned_pages_are_read_within_the_cer_target_at_the_default_resolution(scans) -> None:
    texts, raw = scans
    default = OcrOptions(dpi=Settings.model_fields["ocr_dpi"].default)
    done: list[tuple[int, int]] = []
    doc = parse_pdf(raw, "scan.pdf", doc_id="s", ocr=default, progress=lambda d, t: done.append((d, t)))
    assert [p.page for p in doc.ocr_pages] == [1, 2]
    assert done == [(1, 2), (2, 2)]
    for number, text in enumerate(texts, start=1):
        rate = cer(text, _page_of(doc, number))
        print(f"page {number}: CER {rate:.4f}")
        assert rate <= 0.02, f"page {number}: CER {rate:.4f}"
    assert all(p.confidence > 80 and not p.flagged and p.seconds > 0 for p in doc.ocr_pages)
    assert any(w.startswith("OCR (Tesseract deu, 200 dpi): text of page(s) 1-2") for w in doc.warnings)
    assert doc.language == "de"


@needs_tesseract
def test_without_ocr_options_a_scan_stays_needs_ocr(scans) -> None:
    with pytest.raises(ParseError) as caught:
        parse_pdf(scans[1], "scan.pdf", doc_id="s")
    assert caught.value.status is FileStatus.NEEDS_OCR


@needs_tesseract
def test_a_mixed_report_keeps_its_digital_page_and_reads_its_scans() -> None:
    scanned = [page_text(7), page_text(8, extra=ONLY_IN_IMAGE)]
    raw = scanned_pdf(scanned, digital={1: DIGITAL})
    doc = parse_pdf(raw, "mixed.pdf", doc_id="m", ocr=OcrOptions())
    assert [p.page for p in doc.ocr_pages] == [2, 3]
    assert " ".join(_page_of(doc, 1).split()) == DIGITAL  # the text layer, untouched
    assert "Grubenwasserwärmepumpe" in _page_of(doc, 3)
    assert "Grubenwasserwärmepumpe" not in _page_of(doc, 2)
    assert doc.page_at(doc.text.index("Grubenwasserwärmepumpe")) == 3


@needs_tesseract
def test_page_cap_and_time_budget_leave_pages_unread_and_say_so(scans) -> None:
    capped = parse_pdf(scans[1], "scan.pdf", doc_id="s", ocr=OcrOptions(max_pages=1))
    assert [p.page for p in capped.ocr_pages] == [1]
    assert any("FOERDERSUCHE_OCR_MAX_PAGES=1 reached: pages 2 not read" in w for w in capped.warnings)
    with pytest.raises(ParseError) as caught:  # no time for any page: the scan keeps needs_ocr
        parse_pdf(scans[1], "scan.pdf", doc_id="s", ocr=OcrOptions(), ocr_budget_s=1e-9)
    assert caught.value.status is FileStatus.NEEDS_OCR


@needs_tesseract
def test_a_page_timeout_leaves_the_page_unread() -> None:
    raw = scanned_pdf([page_text(3)])
    with pytest.raises(ParseError) as caught:
        parse_pdf(raw, "scan.pdf", doc_id="s", ocr=OcrOptions(page_timeout_s=0.001))
    assert caught.value.status is FileStatus.NEEDS_OCR
    assert "OCR read no text on 1 page(s)" in caught.value.reason


@needs_tesseract
def test_pages_under_the_confidence_floor_are_indexed_but_flagged(scans) -> None:
    doc = parse_pdf(scans[1], "scan.pdf", doc_id="s", ocr=OcrOptions(min_confidence=99.9))
    assert [p.page for p in doc.ocr_pages if p.flagged] == [1, 2]
    assert any(w.startswith("OCR confidence under 99.9 % on page(s) 1 (") for w in doc.warnings)


@needs_tesseract
def test_a_noisier_fax_like_scan_still_reads(tmp_path: Path) -> None:
    text = page_text(11)
    raw = scanned_pdf([text], ScanStyle(dpi=200, font_pt=9.0, skew_deg=-1.0, noise_sigma=16.0))
    doc = parse_pdf(raw, "fax.pdf", doc_id="f", ocr=OcrOptions())
    assert cer(text, doc.text) <= 0.02


@needs_tesseract
def test_a_page_scanned_upside_down_is_turned_by_orientation_detection() -> None:
    text = page_text(12, sentences=8)
    raw = scanned_pdf([text], ScanStyle(skew_deg=180.5))
    doc = parse_pdf(raw, "kopfueber.pdf", doc_id="k", ocr=OcrOptions())
    assert cer(text, doc.text) <= 0.02
    assert doc.ocr_pages[0].confidence > 80


def test_ocr_switched_off_or_without_the_model_keeps_needs_ocr_with_the_reason(scans, tmp_path: Path) -> None:
    with pytest.raises(ParseError) as off:
        parse_pdf(scans[1], "scan.pdf", doc_id="s", ocr=OcrOptions(enabled=False))
    assert off.value.status is FileStatus.NEEDS_OCR
    assert off.value.reason.endswith("; OCR is switched off (FOERDERSUCHE_OCR_ENABLED=false)")
    with pytest.raises(ParseError) as missing:
        parse_pdf(scans[1], "scan.pdf", doc_id="s", ocr=OcrOptions(tessdata_dir=tmp_path))
    assert missing.value.status is FileStatus.NEEDS_OCR
    assert "OCR unavailable: Tesseract model deu.traineddata not found in " + str(tmp_path) in missing.value.reason
