"""Text-level building blocks of parsing: normalisation, hyphenation, running lines, decoding,
dates, language and document type."""

from __future__ import annotations

import codecs

import pytest

from core.models import DocType
from ingest.dates import iso_date, pdf_date, text_date
from ingest.decode import decode_text
from ingest.doctype import classify_doc_type
from ingest.language import detect_language
from ingest.normalize import dehyphenate, is_page_number, normalize_text, strip_running_lines

# --- normalize_text


def test_ligatures_become_letters() -> None:
    assert normalize_text("Die ﬁnanzielle Förderung, 2. Auﬂage") == "Die finanzielle Förderung, 2. Auflage"
    assert normalize_text("Eﬀekt, Eﬃzienz") == "Effekt, Effizienz"


def test_soft_hyphens_and_zero_width_characters_disappear() -> None:
    assert normalize_text("Förder\u00admittel für Straßen\u200bbau\ufeff") == "Fördermittel für Straßenbau"


def test_control_characters_go_and_tabs_become_spaces() -> None:
    assert normalize_text("§ 4\tAbs. 2\x07 der\x00 Richtlinie\x1b") == "§ 4 Abs. 2 der Richtlinie"


def test_no_break_spaces_and_runs_of_spaces_collapse() -> None:
    assert normalize_text("500\u00a0000  Euro   für\u2003Essen ") == "500 000 Euro für Essen"


def test_paragraph_breaks_survive_and_blank_runs_shrink() -> None:
    raw = "  Erster Absatz\r\nzweite Zeile  \r\n\r\n\r\n\n  Zweiter Absatz\x0cDritter"
    assert normalize_text(raw) == "Erster Absatz\nzweite Zeile\n\nZweiter Absatz\nDritter"


def test_umlauts_stay_composed() -> None:
    decomposed = "Mu\u0308lheim an der Ruhr, Gro\u00dfenbaum"  # "ü" as u + combining diaeresis
    assert normalize_text(decomposed) == "Mülheim an der Ruhr, Großenbaum"


def test_lone_surrogates_are_removed() -> None:
    assert normalize_text("Bochum\ud800 Dortmund") == "Bochum Dortmund"


def test_normalize_is_idempotent() -> None:
    once = normalize_text("Die ﬁrma \u00ad GmbH\n\n\n\n§ 4  Abs. 2")
    assert normalize_text(once) == once


# --- dehyphenate


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Kreislauf-\nwirtschaft", "Kreislaufwirtschaft"),
        ("die Kreislauf-\n  wirtschaft stärken", "die Kreislaufwirtschaft stärken"),
        ("Nordrhein-\nWestfalen", "Nordrhein-Westfalen"),
        ("E-\nMobilität", "E-Mobilität"),
        ("Bau-\nund Verkehrsministerium", "Bau- und Verkehrsministerium"),
        ("Förder\u00ad\nmittel", "Fördermittel"),
        ("Förder\u00ad\nMittel", "FörderMittel"),
        ("2021-\n2027", "2021-\n2027"),
        ("Punkt -\nweiter", "Punkt -\nweiter"),
        ("Straßen-\r\nbahn", "Straßenbahn"),
    ],
)
def test_dehyphenate(raw: str, expected: str) -> None:
    assert dehyphenate(raw) == expected


# --- running headers and footers


def _page(number: int, body: list[str]) -> str:
    return "\n".join(["Stadt Essen – Jahresbericht 2023", "Amt für Stadtentwicklung", *body, f"Seite {number} von 4"])


BODIES = [
    [
        "Die Stadt förderte Projekte.",
        "Zwei davon in Altenessen.",
        "Die Mittel kamen vom Land.",
        "Mehr folgt bald.",
        "Der Rat stimmte zu.",
        "Bürger wurden beteiligt.",
        "Die Presse berichtete.",
        "Ende des Abschnitts.",
    ],
    [
        "Im Stadtteil Katernberg entstand",
        "ein Quartierszentrum.",
        "Es kostete 2,1 Mio. Euro.",
        "Eröffnung 2024.",
        "Vereine nutzen es.",
        "Auch die Schule.",
        "Die Nachfrage ist groß.",
        "Weitere Räume fehlen.",
    ],
    [
        "Das Programm Soziale Stadt",
        "unterstützte Vereine.",
        "Insgesamt 40 Anträge gingen ein.",
        "Alle geprüft.",
        "Zwölf wurden bewilligt.",
        "Drei zurückgezogen.",
        "Der Rest abgelehnt.",
        "Gründe: § 4 Abs. 2.",
    ],
    [
        "Ausblick: 2024 wird",
        "die Förderung fortgesetzt.",
        "Der Rat beschloss dies",
        "im Dezember.",
        "Neue Schwerpunkte:",
        "Klima und Wohnen.",
        "Dazu Bildung.",
        "Und Grünflächen.",
    ],
]


def test_running_headers_footers_and_page_numbers_are_removed() -> None:
    pages = [_page(n, body) for n, body in enumerate(BODIES, start=1)]
    cleaned = strip_running_lines(pages)
    assert cleaned == ["\n".join(body) for body in BODIES]


def test_alternating_book_headers_are_removed() -> None:
    pages = []
    for number, body in enumerate(BODIES + BODIES, start=1):
        header = f"{number} Strukturwandel im Ruhrgebiet" if number % 2 == 0 else f"Kapitel 2: Förderung {number}"
        pages.append("\n".join([header, *body, "Dies ist eine lange Zeile zum Auffüllen der Seite."]))
    cleaned = strip_running_lines(pages)
    assert all("Strukturwandel" not in page and "Kapitel 2" not in page for page in cleaned)
    assert all(body[0] in page for body, page in zip(BODIES + BODIES, cleaned, strict=True))


def test_a_line_on_one_page_only_is_kept() -> None:
    pages = [_page(n, body) for n, body in enumerate(BODIES, start=1)]
    pages[2] = pages[2].replace("Stadt Essen – Jahresbericht 2023", "Sonderteil: Bottrop")
    assert strip_running_lines(pages)[2].startswith("Sonderteil: Bottrop\n")


def test_a_single_page_is_left_alone() -> None:
    assert strip_running_lines(["Seite 1 von 1\nText"]) == ["Seite 1 von 1\nText"]


@pytest.mark.parametrize("line", ["3", "- 3 -", "Seite 3 von 12", "Seite 3", "Page 3 of 12", "3/12", "iv", "S. 7"])
def test_page_numbers_are_recognised(line: str) -> None:
    assert is_page_number(line)


@pytest.mark.parametrize("line", ["2023 war ein gutes Jahr", "Seite an Seite", "ill", "§ 4 Abs. 2", "civil"])
def test_text_is_not_a_page_number(line: str) -> None:
    assert not is_page_number(line)


# --- decoding


def test_valid_utf8_wins_over_a_wrong_declaration() -> None:
    decoded = decode_text("Förderung für Gelsenkirchen".encode(), "iso-8859-1")
    assert decoded.text == "Förderung für Gelsenkirchen"
    assert decoded.encoding == "utf-8"


def test_latin1_declared_is_read_as_cp1252() -> None:
    raw = "„Zukunft Ruhr“ – 5 € für Bürger".encode("cp1252")
    decoded = decode_text(raw, "ISO-8859-1")
    assert decoded.text == "„Zukunft Ruhr“ – 5 € für Bürger"
    assert decoded.encoding == "cp1252"


def test_invalid_utf8_declared_utf8_falls_back_per_byte() -> None:
    raw = "Größe: ".encode() + "Straße".encode("latin-1")
    decoded = decode_text(raw, "utf-8")
    assert decoded.text == "Größe: Straße"
    assert decoded.warning is not None and "invalid UTF-8" in decoded.warning


def test_undeclared_cp1252_is_recognised() -> None:
    assert decode_text("Oberhausen: Maßnahmen für Bürger".encode("cp1252")).text == "Oberhausen: Maßnahmen für Bürger"


def test_byte_order_marks_decide() -> None:
    assert decode_text(codecs.BOM_UTF8 + "Dürener Straße".encode()).text == "Dürener Straße"
    assert decode_text("Dürener Straße".encode("utf-16")).text == "Dürener Straße"
    assert decode_text("Dürener Straße".encode("utf-16-le")).text == "Dürener Straße"


def test_declared_other_charsets_are_used() -> None:
    assert decode_text("Zażółć gęślą jaźń".encode("cp1250"), "windows-1250").text == "Zażółć gęślą jaźń"


# --- dates


def test_dates() -> None:
    assert iso_date("2023-05-17T10:00:00+02:00") == "2023-05-17"
    assert iso_date("17.05.2023") == "2023-05-17"
    assert iso_date("31.02.2023") is None
    assert pdf_date("D:20210315093000+01'00'") == "2021-03-15"
    assert pdf_date("D:1970") is None
    assert text_date("Essen, den 3. März 2022 – Die Stadt") == "2022-03-03"
    assert text_date("Stand: 15.03.2021") == "2021-03-15"
    assert text_date("§ 4 Abs. 2 vom 99.99.2021, dann 2020-01-31") == "2020-01-31"
    assert text_date("keine Angabe") is None


# --- language


def test_german_is_detected_deterministically() -> None:
    text = "Die Stadt Gelsenkirchen erhält Fördermittel für den Umbau der Innenstadt und neue Radwege."
    assert {detect_language(text) for _ in range(5)} == {"de"}


def test_english_is_detected() -> None:
    assert detect_language("The city receives funding for the renovation of its old town centre.") == "en"


def test_too_few_words_give_no_language() -> None:
    assert detect_language("§ 4 Abs. 2 1.000.000 €") is None
    assert detect_language("Fördermittel für Essen") is None


# --- document type


@pytest.mark.parametrize(
    ("title", "text", "source", "expected"),
    [
        ("Pressemitteilung: Land fördert Radwege", "", "https://www.example.de/aktuelles/1", DocType.PRESS_RELEASE),
        ("Radwege für Bochum", "Presseinformation Nr. 12/2023\nDas Land ...", "x.html", DocType.PRESS_RELEASE),
        ("Radwege für Bochum", "Das Land ...", "https://www.bochum.de/presse/radwege", DocType.PRESS_RELEASE),
        ("Fortschrittsbericht 2023 Strukturwandel", "", "bericht.pdf", DocType.PROGRESS_REPORT),
        ("Kohleausstieg", "Zwischenbericht der Landesregierung\n...", "x.pdf", DocType.PROGRESS_REPORT),
        ("Projekt: Emscher-Radweg", "Projektlaufzeit 2020-2023", "https://ruhr.de/a", DocType.PROJECT_PAGE),
        ("Emscher-Radweg", "Text", "https://www.ruhr.de/projekte/emscher-radweg", DocType.PROJECT_PAGE),
        ("Öffnungszeiten", "Das Bürgeramt ist geöffnet.", "https://www.essen.de/buergeramt", DocType.OTHER),
        ("Compression", "Text", "https://www.essen.de/impressum", DocType.OTHER),
    ],
)
def test_classify_doc_type(title: str, text: str, source: str, expected: DocType) -> None:
    assert classify_doc_type(title, text, source, "text/html") is expected


def test_a_report_mentioned_late_in_a_text_does_not_make_a_report() -> None:
    text = "Die Stadt baut Radwege. " * 40 + "Details im Jahresbericht."
    assert classify_doc_type("Radwege", text, "x.html", "text/html") is DocType.OTHER
