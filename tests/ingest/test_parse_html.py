"""HTML, plain text and Markdown parsing, and the byte sniffing in front of them (small German inputs)."""

from __future__ import annotations

import gzip

import pytest

from core.errors import ParseError
from core.ids import content_hash
from core.models import DocType, FileStatus
from ingest.parse import parse_bytes, sniff_kind
from ingest.parse_html import parse_html, sniff_charset
from ingest.parse_text import markdown_headings, parse_text

ARTICLE = """<!DOCTYPE html>
<html lang="de">
<head>
<meta charset="{charset}">
<title>Pressemitteilung: Land fördert Kreislaufwirtschaft in Gelsenkirchen | Stadt Gelsenkirchen</title>
<meta property="og:title" content="Land fördert Kreislaufwirtschaft in Gelsenkirchen">
<meta property="article:published_time" content="2023-05-17T09:30:00+02:00">
<link rel="canonical" href="https://www.gelsenkirchen.de/presse/kreislaufwirtschaft">
</head>
<body>
<nav><ul><li><a href="/">Startseite</a></li><li><a href="/impressum">Impressum</a></li>
<li><a href="/kontakt">Kontakt</a></li></ul></nav>
<main><article>
<h1>Land fördert Kreislaufwirtschaft in Gelsenkirchen</h1>
<p>Das Land Nordrhein-Westfalen unterstützt die Stadt Gelsenkirchen mit 2,4 Millionen Euro beim Aufbau
eines regionalen Zentrums für Kreislauf&shy;wirtschaft. Gefördert wird nach § 4 Abs. 2 der Richtlinie
über Zuwendungen für den Strukturwandel im Ruhrgebiet.</p>
<p>„Wir schaffen damit neue Arbeitsplätze für Bürgerinnen und Bürger“, sagte die Oberbürgermeisterin bei der
Übergabe des Förderbescheids. Die Straßenbahnlinie 301 soll das Gelände künftig besser anbinden.</p>
<h2>Ziele des Projekts</h2>
<p>Bis 2027 sollen jährlich 15.000 Tonnen Baustoffe wiederverwendet werden. Die Emscher-Lippe-Region
profitiert besonders, weil viele Betriebe der Bauwirtschaft hier ansässig sind und kurze Wege entstehen.</p>
<h3>Finanzierung</h3>
<p>Die Gesamtkosten betragen 3,1 Millionen Euro; die Stadt trägt den Eigenanteil aus dem Haushalt 2024.</p>
</article></main>
<aside><p>Weitere Meldungen: Neues Hallenbad in Buer eröffnet</p></aside>
<footer><p>© Stadt Gelsenkirchen · Impressum · Datenschutz</p></footer>
</body>
</html>
"""


def article(charset: str = "utf-8") -> str:
    return ARTICLE.format(charset=charset)


@pytest.fixture(scope="module")
def doc():
    return parse_html(article().encode(), "https://www.gelsenkirchen.de/x", doc_id="d1", source_name="Stadt GE")


def test_main_text_is_extracted_without_boilerplate(doc) -> None:
    assert "2,4 Millionen Euro" in doc.text
    assert "Kreislaufwirtschaft. Gefördert wird nach § 4 Abs. 2 der Richtlinie" in doc.text  # &shy; removed
    assert "„Wir schaffen damit neue Arbeitsplätze für Bürgerinnen und Bürger“" in doc.text
    assert "Startseite" not in doc.text
    assert "Datenschutz" not in doc.text
    assert "Hallenbad" not in doc.text


def test_paragraphs_are_separated_by_blank_lines(doc) -> None:
    paragraphs = doc.text.split("\n\n")
    assert any(p.startswith("Das Land Nordrhein-Westfalen") for p in paragraphs)
    assert any(p.startswith("Bis 2027 sollen") for p in paragraphs)
    assert "\n\n\n" not in doc.text


def test_headings_point_into_the_text(doc) -> None:
    by_text = {h.text: h for h in doc.headings}
    assert by_text["Ziele des Projekts"].level == 2
    assert by_text["Finanzierung"].level == 3
    for heading in doc.headings:
        assert doc.text[heading.start :].startswith(heading.text)
    starts = [h.start for h in doc.headings]
    assert starts == sorted(starts)


def test_metadata(doc) -> None:
    assert "Kreislaufwirtschaft in Gelsenkirchen" in doc.title
    assert doc.date == "2023-05-17"
    assert doc.language == "de"
    assert doc.media_type == "text/html"
    assert doc.doc_type is DocType.PRESS_RELEASE
    assert doc.source == "https://www.gelsenkirchen.de/x"
    assert doc.source_name == "Stadt GE"
    assert doc.content_hash == content_hash(article().encode())
    assert doc.pages == ()


def test_canonical_url_is_used_only_without_a_given_url(doc) -> None:
    assert doc.url == "https://www.gelsenkirchen.de/presse/kreislaufwirtschaft"
    given = parse_html(article().encode(), "s", doc_id="d", url="https://crawl.example/seite")
    assert given.url == "https://crawl.example/seite"


def test_parsing_is_deterministic() -> None:
    first = parse_html(article().encode(), "s", doc_id="d")
    assert parse_html(article().encode(), "s", doc_id="d") == first


@pytest.mark.parametrize("charset", ["windows-1252", "iso-8859-1"])
def test_single_byte_charsets(charset: str) -> None:
    raw = article(charset).encode("cp1252")
    parsed = parse_html(raw, "s", doc_id="d")
    assert "„Wir schaffen damit neue Arbeitsplätze für Bürgerinnen und Bürger“" in parsed.text
    assert parsed.warnings == ()


def test_declared_utf8_with_latin1_bytes() -> None:
    raw = article().encode().replace("Straßenbahnlinie".encode(), "Straßenbahnlinie".encode("latin-1"))
    parsed = parse_html(raw, "s", doc_id="d")
    assert "Die Straßenbahnlinie 301" in parsed.text
    assert "Bürgerinnen" in parsed.text
    assert any("invalid UTF-8" in w for w in parsed.warnings)


def test_byte_order_mark_and_gzip() -> None:
    bom = parse_html(b"\xef\xbb\xbf" + article().encode(), "s", doc_id="d")
    assert "Arbeitsplätze" in bom.text
    zipped = parse_html(gzip.compress(article().encode()), "s", doc_id="d")
    assert zipped.text == bom.text
    assert "gzip-compressed page inflated" in zipped.warnings


def test_sniff_charset() -> None:
    assert sniff_charset(b'<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">') == "ISO-8859-1"
    assert sniff_charset(b"<?xml version='1.0' encoding='windows-1252'?><html>") == "windows-1252"
    assert sniff_charset(b"<html><body>nichts</body></html>") is None


def test_fallback_title_and_date_without_metadata_from_trafilatura() -> None:
    html = (
        "<html><head><title>Förderaufruf Grüne Infrastruktur</title></head><body><main>"
        "<p>Essen, 03.04.2022. Die Stadt Essen ruft Vereine, Initiativen und Unternehmen auf, sich bis zum "
        "30. Juni mit Projekten für mehr Grün in den Quartieren zu bewerben. Gefördert werden Dachbegrünungen, "
        "Baumpflanzungen und Gemeinschaftsgärten mit bis zu 50.000 Euro je Vorhaben.</p>"
        "<p>Die Anträge prüft das Umweltamt gemeinsam mit den Bezirksvertretungen; die Entscheidung fällt im "
        "Herbst. Beratung bietet die Stadt in allen neun Stadtbezirken an.</p></main></body></html>"
    )
    parsed = parse_html(html.encode(), "s", doc_id="d")
    assert parsed.title == "Förderaufruf Grüne Infrastruktur"
    assert parsed.date == "2022-04-03"
    assert parsed.url is None


def test_page_without_main_text_is_empty() -> None:
    html = b"<html><head><title>Leer</title></head><body><nav><a href='/'>Start</a></nav></body></html>"
    with pytest.raises(ParseError) as caught:
        parse_html(html, "s", doc_id="d")
    assert caught.value.status is FileStatus.EMPTY
    assert caught.value.reason


# --- plain text and Markdown

MARKDOWN = """# Förderprogramm Zukunft Ruhr

Stand: 01.02.2024

## Wer wird gefördert?

Vereine und Kommunen im Ruhrgebiet nach § 4 Abs. 2.

```
# kein Heading im Code
```

Antragsfristen
--------------

Bis zum 30. Juni.
"""


def test_markdown_headings_and_title() -> None:
    parsed = parse_text(MARKDOWN.encode(), "notes/zukunft.md", doc_id="m", markdown=True)
    assert parsed.title == "Förderprogramm Zukunft Ruhr"
    assert [(h.level, h.text) for h in parsed.headings] == [
        (1, "Förderprogramm Zukunft Ruhr"),
        (2, "Wer wird gefördert?"),
        (2, "Antragsfristen"),
    ]
    for heading in parsed.headings:
        assert heading.text in parsed.text[heading.start :].split("\n", 1)[0]
    assert parsed.media_type == "text/markdown"
    assert parsed.date == "2024-02-01"


@pytest.mark.parametrize(
    "opening",
    [
        '---\ntitle: "Projektblatt Wasserstoff Hamm"\ndate: 2023-06-01\ntags:\n  - Wasserstoff\n---\n',
        '+++\ntitle = "Projektblatt Wasserstoff Hamm"\ndate = 2023-06-01T09:00:00Z\n[extra]\n+++\n',
    ],
    ids=["yaml", "toml"],
)
def test_markdown_front_matter_is_metadata_not_text(opening: str) -> None:
    body = "# Wasserstoff in Hamm\n\nDie Stadt Hamm plant ein Elektrolysezentrum am Datteln-Hamm-Kanal.\n"
    parsed = parse_text((opening + body).encode(), "projekte/hamm.md", doc_id="f", markdown=True)
    assert parsed.title == "Projektblatt Wasserstoff Hamm"
    assert parsed.date == "2023-06-01"
    assert parsed.text.startswith("# Wasserstoff in Hamm") and "title" not in parsed.text
    # the block's closing line is no Setext underline: the first heading is the document's own
    assert [h.text for h in parsed.headings] == ["Wasserstoff in Hamm"]


def test_a_leading_horizontal_rule_is_no_front_matter() -> None:
    raw = "---\nHinweis: Diese Seite wird nicht mehr gepflegt.\n---\n\nDer Text über Kamen bleibt vollständig.\n"
    parsed = parse_text(raw.encode(), "alt.md", doc_id="h", markdown=True)
    assert "Hinweis: Diese Seite wird nicht mehr gepflegt." in parsed.text
    assert "Der Text über Kamen bleibt vollständig." in parsed.text


def test_a_title_from_a_whole_paragraph_is_cut_at_a_word() -> None:
    line = "Die Wirtschaftsförderung des Kreises Unna berichtet über die Vorhaben des Strukturwandels " * 4
    parsed = parse_text(line.encode(), "notiz.txt", doc_id="p")
    assert parsed.title.endswith(" …") and len(parsed.title) <= 162
    assert line.startswith(parsed.title.removesuffix(" …"))
    assert parsed.text == line.strip()


def test_plain_text_title_is_the_first_line() -> None:
    raw = "\n\nSachstandsbericht Emscher-Umbau\nDie Arbeiten am Fluss sind weit fortgeschritten.".encode("cp1252")
    parsed = parse_text(raw, "bericht.txt", doc_id="t")
    assert parsed.title == "Sachstandsbericht Emscher-Umbau"
    assert parsed.doc_type is DocType.PROGRESS_REPORT
    assert parsed.headings == ()
    assert parsed.media_type == "text/plain"


def test_markdown_headings_ignore_lists_and_fences() -> None:
    assert markdown_headings("- Punkt\n---\n```\n# Code\n```\n#Kein Heading") == ()


# --- sniffing in parse_bytes


def test_pdf_bytes_behind_an_html_suffix_are_a_pdf() -> None:
    assert sniff_kind(b"%PDF-1.7\n...", ".html", "text/html") == "pdf"
    assert sniff_kind(b"\n\n%PDF-1.4", None, None) == "pdf"


def test_html_served_as_pdf_is_html() -> None:
    raw = article().encode()
    parsed = parse_bytes(raw, "https://x.example/a.pdf", doc_id="d", suffix_hint=".pdf", content_type="application/pdf")
    assert parsed.media_type == "text/html"
    assert "announced as PDF but the bytes are html" in parsed.warnings
    assert parsed.content_hash == content_hash(raw)


def test_gzip_without_header_is_inflated_and_hashed_as_received() -> None:
    raw = gzip.compress(article().encode())
    parsed = parse_bytes(raw, "s", doc_id="d", suffix_hint=None)
    assert parsed.media_type == "text/html"
    assert parsed.content_hash == content_hash(raw)
    assert parsed.warnings[0] == "gzip-compressed file inflated"


def test_charset_from_content_type_header_is_used() -> None:
    raw = "<p>Die Förderung für Bürgerinnen und Bürger in Herne, Bochum und Witten läuft.</p>".encode("cp1252")
    parsed = parse_bytes(raw * 5, "s", doc_id="d", suffix_hint=".txt", content_type="text/plain; charset=windows-1252")
    assert "Förderung für Bürgerinnen" in parsed.text


@pytest.mark.parametrize(
    ("raw", "suffix", "content_type", "kind"),
    [
        (b"# Titel\n\nText", ".md", None, "markdown"),
        (b"Nur Text", ".txt", None, "text"),
        (b"Nur Text", None, "text/markdown", "markdown"),
        (b"<div>Text</div>", None, None, "html"),
        (b"Text ohne Markup", ".html", None, "html"),
    ],
)
def test_sniff_kind(raw: bytes, suffix: str | None, content_type: str | None, kind: str) -> None:
    assert sniff_kind(raw, suffix, content_type) == kind


@pytest.mark.parametrize(
    "raw",
    [
        b"PK\x03\x04" + b"\x00" * 100,
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
        b"\xff\xd8\xff\xe0" + b"\x00" * 100,
        bytes(range(256)) * 4,
    ],
)
def test_unsupported_binary_is_skipped(raw: bytes) -> None:
    with pytest.raises(ParseError) as caught:
        parse_bytes(raw, "s", doc_id="d", suffix_hint=".docx")
    assert caught.value.status is FileStatus.SKIPPED
    assert caught.value.reason.startswith("unsupported file type")


def test_empty_file_is_empty() -> None:
    with pytest.raises(ParseError) as caught:
        parse_bytes(b"  \n", "s", doc_id="d", suffix_hint=".txt")
    assert caught.value.status is FileStatus.EMPTY
