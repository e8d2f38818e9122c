"""PDF bytes -> ``Document``, page by page, with a status for every PDF that yields no usable text.

Two engines: pypdfium2 (PDFium, C++) reads first, pypdf (pure Python) is the second opinion. On the
55 real-world PDFs of ``shared/realworld`` PDFium opened more files (7 non-password failures against
pypdf's 10), was about ten times faster (0.4 s against 4.2 s for a 352-page book) and reports glyphs
without a Unicode mapping; pypdf decodes some font encodings that PDFium gets wrong. So pypdf runs
when PDFium cannot open a file, finds (almost) no text, or returns garbled text; the better result
wins.

Outcomes, as ``ParseError`` statuses: ENCRYPTED (the empty password does not open it), NEEDS_OCR
(pages are images without a text layer), GARBLED (the text layer is mostly unmapped glyphs, control,
private-use or replacement characters, or has implausible letter statistics), EMPTY (no text, no
images), FAILED (neither engine can read it; the reason names both exceptions).
"""

from __future__ import annotations

import ctypes
import logging
import re
import time
import unicodedata
import warnings as pywarnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from io import BytesIO
from typing import Any

from core.errors import ParseError
from core.ids import content_hash
from core.models import Document, FileStatus, OcrPage, PageSpan
from ingest.dates import pdf_date, text_date
from ingest.doctype import classify_doc_type
from ingest.language import detect_language
from ingest.normalize import dehyphenate, is_page_number, normalize_text, strip_running_lines
from ingest.ocr import OcrOptions, Tesseract, render_page
from ingest.pdf_layout import Char, interleaved, reading_order

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/pdf"
MAX_PAGES = 1000
# Garble score (share of suspicious characters) from which a text layer counts as garbled.
GARBLED_SCORE = 0.1
# Below this many letters per page on average, pages that carry images are scans.
OCR_LETTERS_PER_PAGE = 20
# Characters sampled per page for PDFium's unmapped-glyph check (a C call per character).
MAP_ERROR_SAMPLE = 200
MAX_ENGINE_WARNINGS = 5
GARBLE_SAMPLE_CHARS = 100_000
TITLE_MAX_CHARS = 300
MAX_LAYOUT_CHARS = 40_000  # a page with more characters keeps its drawing order (no column analysis)

_VOWELS = frozenset("aeiouyäöüàáâãåæéèêëíìîïóòôõøœúùûů")
_WORD = re.compile(r"[^\W\d_]+")
_LETTER = re.compile(r"[^\W\d_]")
# The commonest function words of the languages the corpus holds (German first): prose in any of
# them consists of 10-40 % such words, a shifted or scrambled text layer of none.
_FUNCTION_WORDS = frozenset(
    "der die das und in zu den von mit ist im für auf nicht ein eine des dem sich es als auch an werden aus "
    "er hat dass sie nach wird bei einer um am sind noch wie über so zum war haben nur oder aber vor zur bis "
    "the of and to a is that for it as was with be by on not this are or from at which but have an they "
    "le la les et du un une est que pas pour dans ce il qui sur au de van het een op te zijn el los las del y "
    "por con para w i z na się nie".split()
)
_BAD_TITLE = re.compile(
    r"(?:\.(?:pdf|docx?|odt|rtf|txt|xlsx?|pptx?|indd|qxd|tmp|exe|ps|dvi)$)|^(?:microsoft (?:word|powerpoint|excel) - )"
    r"|^(?:untitled|ohne titel|unbenannt|titel|title|dokument\d*|document\d*|pdf)$",
    re.IGNORECASE,
)


@dataclass
class _Extraction:
    """What one engine read from a PDF."""

    engine: str
    pages: list[str]
    page_count: int
    image_pages: int = 0
    page_images: list[bool] = field(default_factory=list)  # per page read: does it draw an image
    page_map: list[tuple[int, int]] = field(default_factory=list)  # per page: (glyphs sampled, unmapped)
    reordered_pages: list[int] = field(default_factory=list)  # read column by column (``pdf_layout``)
    map_error_ratio: float = 0.0
    metadata: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    # Read only once the engine is done with ``pages``.
    @cached_property
    def letters(self) -> int:
        return sum(len(_LETTER.findall(page)) for page in self.pages)

    @cached_property
    def garble(self) -> float:
        return garble_score("".join(self.pages), self.map_error_ratio)


def garble_score(text: str, map_error_ratio: float = 0.0) -> float:
    """0 for clean text, towards 1 for a text layer that is not text.

    The share of characters that are control, private-use, unassigned, surrogate or replacement
    characters, plus the share of glyphs PDFium could not map to Unicode; 1.0 when a Latin text of
    some length has letter statistics no human language has: a vowel share outside 15-70 %, or (the
    signature of shifted font encodings) almost no function words while many words lack a vowel.
    """
    if len(text) > GARBLE_SAMPLE_CHARS:  # evenly spaced windows tell as much as the whole book
        step = len(text) // 20
        text = "".join(text[i : i + GARBLE_SAMPLE_CHARS // 20] for i in range(0, len(text), step))
    chars = [ch for ch in text if not ch.isspace()]
    if not chars:
        return 0.0
    bad = sum(1 for ch in chars if ch == "\ufffd" or unicodedata.category(ch) in ("Cc", "Co", "Cn", "Cs"))
    latin = [ch.lower() for ch in chars if ch.isalpha() and (ch.isascii() or "LATIN" in unicodedata.name(ch, ""))]
    if len(latin) >= 40:
        vowels = sum(ch in _VOWELS for ch in latin) / len(latin)
        if not 0.15 <= vowels <= 0.7:
            return 1.0
    words = _WORD.findall(text.lower())
    if len(words) >= 40:
        function_words = sum(word in _FUNCTION_WORDS for word in words) / len(words)
        vowelless = sum(1 for word in words if len(word) >= 3 and not _VOWELS.intersection(word)) / len(words)
        if function_words < 0.02 and vowelless >= 0.3:
            return 1.0
    return min(1.0, bad / len(chars) + map_error_ratio)


@contextmanager
def _engine_messages(sink: list[str]) -> Iterator[None]:
    """Collect pypdf's log records and Python warnings raised while parsing into ``sink``."""

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            sink.append(f"pypdf: {record.getMessage()}")

    handler = Collect(level=logging.WARNING)
    logger = logging.getLogger("pypdf")
    logger.addHandler(handler)
    try:
        with pywarnings.catch_warnings(record=True) as caught:
            pywarnings.simplefilter("always")
            yield
        sink.extend(f"{w.category.__name__}: {w.message}" for w in caught)
    finally:
        logger.removeHandler(handler)


def _out_of_time(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() > deadline


def _with_pdfium(raw: bytes, max_pages: int, deadline: float | None) -> _Extraction:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pdfium.PdfDocument(raw)
    except pdfium.PdfiumError as err:
        if err.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise ParseError(
                FileStatus.ENCRYPTED, f"encrypted: the empty password does not open it (PDFium: {err})"
            ) from err
        raise
    try:
        result = _Extraction("pdfium", [], len(pdf))
        try:
            result.metadata = {k: v for k, v in pdf.get_metadata_dict(skip_empty=True).items() if isinstance(v, str)}
        except Exception as err:
            result.warnings.append(f"pdfium: metadata unreadable ({type(err).__name__}: {err})")
        sampled = errors = 0
        for index in range(min(len(pdf), max_pages)):
            if _out_of_time(deadline):
                result.warnings.append(f"time budget exhausted after {index} pages")
                break
            try:
                page = pdf[index]
                textpage = page.get_textpage()
                reordered = _column_order(textpage)
                result.pages.append(textpage.get_text_range() if reordered is None else reordered)
                if reordered is not None:
                    result.reordered_pages.append(index + 1)
                count = textpage.count_chars()
                page_sampled = page_errors = 0
                for char_index in range(0, count, max(1, count // MAP_ERROR_SAMPLE)):
                    page_sampled += 1
                    page_errors += bool(pdfium_c.FPDFText_HasUnicodeMapError(textpage.raw, char_index))
                sampled, errors = sampled + page_sampled, errors + page_errors
                result.page_map.append((page_sampled, page_errors))
                has_image = any(True for _ in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=3))
                result.page_images.append(has_image)
                textpage.close()
                page.close()
            except pdfium.PdfiumError as err:
                for values in (result.pages, result.page_map, result.page_images):
                    del values[index:]  # a page fails as a whole
                result.pages.append("")
                result.page_map.append((0, 0))
                result.page_images.append(False)
                result.warnings.append(f"pdfium: page {index + 1} unreadable ({err})")
        result.map_error_ratio = errors / sampled if sampled else 0.0
        result.image_pages = sum(result.page_images)
        if result.reordered_pages:
            result.warnings.append(
                f"pdfium: {len(result.reordered_pages)} page(s) read column by column, because the file draws "
                f"their columns line by line across the page (pages {_page_list(result.reordered_pages)})"
            )
        return result
    finally:
        pdf.close()


def _page_chars(textpage: Any) -> list[Char]:
    """The characters of a PDFium text page with their boxes (generated spaces and breaks have empty
    boxes), in the order of ``get_text_range``."""
    import pypdfium2.raw as pdfium_c

    left, right, bottom, top = ctypes.c_double(), ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    chars = []
    for index in range(pdfium_c.FPDFText_CountChars(textpage.raw)):
        code = pdfium_c.FPDFText_GetUnicode(textpage.raw, index)
        if not pdfium_c.FPDFText_GetCharBox(textpage.raw, index, left, right, bottom, top):
            left.value = right.value = bottom.value = top.value = 0.0
        chars.append(
            Char(chr(code) if 0 < code < 0x110000 else "\ufffd", left.value, bottom.value, right.value, top.value)
        )
    return chars


def _text_runs(textpage: Any) -> list[Char]:
    """The boxes of a PDFium text page's runs of text (a few hundred a page, where characters are
    thousands)."""
    import pypdfium2.raw as pdfium_c

    left, right, bottom, top = ctypes.c_double(), ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    runs = []
    for index in range(pdfium_c.FPDFText_CountRects(textpage.raw, 0, -1)):
        if pdfium_c.FPDFText_GetRect(textpage.raw, index, left, top, right, bottom):
            runs.append(Char("x", left.value, bottom.value, right.value, top.value))
    return runs


def _column_order(textpage: Any) -> str | None:
    """The page read column by column when its columns are drawn line by line (``pdf_layout``), else
    None. Its runs of text rule out the usual page (no gutter, or columns drawn one after the other)
    before any character is read. The reordering is an improvement, never a condition: a page it
    cannot analyse keeps the drawing order."""
    try:
        if textpage.count_chars() > MAX_LAYOUT_CHARS or not interleaved(_text_runs(textpage)):
            return None
        return reading_order(_page_chars(textpage))
    except Exception as err:  # a broken page's boxes must not cost the document its text
        log.debug("column analysis skipped: %s: %s", type(err).__name__, err)
        return None


def _page_list(numbers: list[int]) -> str:
    """Page numbers as ranges: [2, 3, 4, 5, 9] -> "2-5, 9"."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def _pypdf_has_images(page: Any) -> bool:
    resources = page.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources is not None else None
    if xobjects is None:
        return False
    return any(xobject.get_object().get("/Subtype") == "/Image" for xobject in xobjects.get_object().values())


def _with_pypdf(raw: bytes, max_pages: int, deadline: float | None) -> _Extraction:
    import pypdf

    reader = pypdf.PdfReader(BytesIO(raw), strict=False)
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("")
        except Exception as err:  # DependencyError (AES without cryptography), NotImplementedError
            raise ParseError(FileStatus.ENCRYPTED, f"encrypted: cannot decrypt ({type(err).__name__}: {err})") from err
        if opened == pypdf.PasswordType.NOT_DECRYPTED:
            raise ParseError(FileStatus.ENCRYPTED, "encrypted: the empty password does not open it (pypdf)")
    result = _Extraction("pypdf", [], len(reader.pages))
    try:
        info: Mapping[str, Any] = reader.metadata or {}
        result.metadata = {str(k).lstrip("/"): str(v) for k, v in info.items() if isinstance(v, str)}
    except Exception as err:
        result.warnings.append(f"pypdf: metadata unreadable ({type(err).__name__}: {err})")
    for index in range(min(result.page_count, max_pages)):
        if _out_of_time(deadline):
            result.warnings.append(f"time budget exhausted after {index} pages")
            break
        try:
            page = reader.pages[index]
            text = page.extract_text() or ""
            has_image = _pypdf_has_images(page)
            result.pages.append(text)
            result.page_images.append(has_image)
        except Exception as err:
            result.pages.append("")
            result.page_images.append(False)
            result.warnings.append(f"pypdf: page {index + 1} unreadable ({type(err).__name__}: {err})")
    result.image_pages = sum(result.page_images)
    result.page_map = [(0, 0)] * len(result.pages)
    return result


def _preferred(candidates: list[_Extraction]) -> _Extraction:
    """Clean text before garbled text before no text, then more letters; ties go to the first (PDFium)."""

    def rank(candidate: _Extraction) -> tuple[int, int]:
        letters = candidate.letters
        kind = 2 if letters == 0 else int(candidate.garble >= GARBLED_SCORE)
        return kind, -letters

    return min(candidates, key=rank)


def _read(raw: bytes, max_pages: int, deadline: float | None) -> tuple[_Extraction, list[str]]:
    candidates: list[_Extraction] = []
    failures: list[str] = []
    messages: list[str] = []
    for engine in (_with_pdfium, _with_pypdf):
        if candidates:
            first = candidates[0]
            letters_per_page = first.letters / max(1, len(first.pages))
            if first.garble < GARBLED_SCORE and letters_per_page >= OCR_LETTERS_PER_PAGE:
                break
        try:
            with _engine_messages(messages):
                candidates.append(engine(raw, max_pages, deadline))
        except ParseError:
            raise
        except Exception as err:
            failures.append(f"{engine.__name__.removeprefix('_with_')}: {type(err).__name__}: {err}")
    if not candidates:
        raise ParseError(FileStatus.FAILED, "unreadable PDF: " + "; ".join(failures))
    best = _preferred(candidates)
    notes = [f"{f} (used {best.engine})" for f in failures]
    if best.engine != "pdfium":
        notes.append(f"text from {best.engine}")
    seen: set[str] = set()
    for message in best.warnings + messages:
        if message not in seen and len(seen) < MAX_ENGINE_WARNINGS:
            seen.add(message)
            notes.append(message[:300])
    return best, notes


SCANNED = "no text layer"
GARBLED_LAYER = "garbled text layer"


def select_ocr_pages(
    pages: list[str], page_images: list[bool], page_map: list[tuple[int, int]]
) -> list[tuple[int, str]]:
    """The pages (0-based) OCR should read, each with why: a page that draws an image and has fewer
    than ``OCR_LETTERS_PER_PAGE`` letters of text is a scan; a page with at least as many characters
    whose own text layer scores ``GARBLED_SCORE`` or more (``garble_score`` with the page's share of
    unmapped glyphs) is garbage. Every other page keeps its text layer, so a mixed report loses none
    of its digital pages."""
    selected = []
    for index, text in enumerate(pages):
        letters = len(_LETTER.findall(text))
        sampled, unmapped = page_map[index] if index < len(page_map) else (0, 0)
        if letters < OCR_LETTERS_PER_PAGE and index < len(page_images) and page_images[index]:
            selected.append((index, SCANNED))
            continue
        visible = len(text) - sum(ch.isspace() for ch in text)
        score = garble_score(text, unmapped / sampled if sampled else 0.0) if visible >= OCR_LETTERS_PER_PAGE else 0.0
        if score >= GARBLED_SCORE:
            selected.append((index, GARBLED_LAYER))
    return selected


@dataclass(frozen=True)
class _OcrResult:
    extraction: _Extraction  # the pages with what OCR read put in
    pages: tuple[OcrPage, ...]  # the pages whose text now comes from OCR
    tried: int  # pages OCR read (its text may have lost against the text layer)
    letters: int  # the most letters OCR read on one page
    notes: tuple[str, ...]


def _run_ocr(
    raw: bytes,
    best: _Extraction,
    wanted: list[tuple[int, str]],
    options: OcrOptions,
    deadline: float | None,
    progress: Callable[[int, int], None] | None,
) -> _OcrResult | str:
    """Read the ``wanted`` pages with Tesseract, page by page, until the page cap or the deadline;
    the reason as a string when OCR is not available."""
    import pypdfium2 as pdfium

    engine = Tesseract.open(options)
    if isinstance(engine, str):
        return engine
    try:
        pdf = pdfium.PdfDocument(raw)
    except pdfium.PdfiumError as err:
        engine.close()
        return f"OCR impossible: PDFium cannot render the file ({err})"
    pages, page_images, page_map = list(best.pages), list(best.page_images), list(best.page_map)
    done: list[OcrPage] = []
    notes: list[str] = []
    tried = most_letters = 0
    todo = wanted[: options.max_pages]
    if len(wanted) > len(todo):
        skipped = [i + 1 for i, _ in wanted[len(todo) :]]
        notes.append(
            f"OCR page cap FOERDERSUCHE_OCR_MAX_PAGES={options.max_pages} reached: pages {_page_list(skipped)} not read"
        )
    started = time.monotonic()
    try:
        for position, (index, why) in enumerate(todo):
            now = time.monotonic()
            per_page = (now - started) / position if position else 0.0
            if deadline is not None and now + per_page > deadline:
                rest = [i + 1 for i, _ in todo[position:]]
                notes.append(
                    f"OCR stopped at the parse time limit after {position} of {len(todo)} pages: pages "
                    f"{_page_list(rest)} not read (FOERDERSUCHE_PARSE_TIMEOUT_S)"
                )
                break
            image, dpi = render_page(pdf, index, options.dpi)
            read = engine.read(image, dpi)
            tried += 1
            if progress is not None:
                progress(position + 1, len(todo))
            if read.timed_out:
                notes.append(
                    f"OCR of page {index + 1} exceeded FOERDERSUCHE_OCR_PAGE_TIMEOUT_S={options.page_timeout_s:g}"
                )
                continue
            text = read.text.replace("\f", "").strip()
            letters = len(_LETTER.findall(text))
            most_letters = max(most_letters, letters)
            if why == SCANNED:
                better = letters > len(_LETTER.findall(pages[index]))
            else:
                better = letters >= OCR_LETTERS_PER_PAGE and garble_score(text) < GARBLED_SCORE
            if not better:
                continue
            pages[index] = text
            page_images[index] = False
            page_map[index] = (0, 0)
            confidence = round(read.confidence, 1)
            done.append(OcrPage(index + 1, confidence, round(read.seconds, 3), confidence < options.min_confidence))
    finally:
        pdf.close()
        engine.close()
    seconds = time.monotonic() - started
    if done:
        mean = sum(p.confidence for p in done) / len(done)
        notes.insert(
            0,
            f"OCR (Tesseract {options.languages}, {options.dpi} dpi): text of page(s) "
            f"{_page_list([p.page for p in done])} read from the image, mean word confidence {mean:.0f} %, "
            f"{tried / seconds if seconds else 0.0:.2f} pages/s",
        )
    flagged = [p for p in done if p.flagged]
    if flagged:
        notes.append(
            f"OCR confidence under {options.min_confidence:g} % on page(s) "
            + ", ".join(f"{p.page} ({p.confidence:.0f} %)" for p in flagged)
        )
    sampled = sum(n for n, _ in page_map)
    extraction = replace(
        best,
        pages=pages,
        page_images=page_images,
        page_map=page_map,
        image_pages=sum(page_images),
        map_error_ratio=sum(e for _, e in page_map) / sampled if sampled else 0.0,
    )
    return _OcrResult(extraction, tuple(done), tried, most_letters, tuple(notes))


def _clean_pages(pages: list[str]) -> list[str]:
    """Line ends unified, PDFium's line-end hyphen marks made hyphens, running lines removed,
    hyphenation undone, each page normalised."""
    unified = [
        page.replace("\r\n", "\n").replace("\r", "\n").replace("\ufffe\n", "-\n").replace("\ufffe", "-\n")
        for page in pages
    ]
    return [normalize_text(dehyphenate(page)) for page in strip_running_lines(unified)]


def _join(pages: list[str]) -> tuple[str, tuple[PageSpan, ...]]:
    """Pages joined by blank lines; a page without text gets an empty span where it stands."""
    parts: list[str] = []
    spans: list[PageSpan] = []
    offset = 0
    for number, page in enumerate(pages, start=1):
        if page and parts:
            offset += 2
        spans.append(PageSpan(number, offset, offset + len(page)))
        if page:
            parts.append(page)
            offset += len(page)
    return "\n\n".join(parts), tuple(spans)


def _title(metadata: dict[str, str], pages: list[str], source: str) -> str:
    """The metadata title unless it is a file name or placeholder; else the first heading-like line."""
    meta_title = normalize_text(metadata.get("Title", "")).strip(" -–_")
    meta_title = " ".join(meta_title.split())
    if len(meta_title) >= 3 and not _BAD_TITLE.search(meta_title) and not ("_" in meta_title and " " not in meta_title):
        return meta_title[:TITLE_MAX_CHARS]
    for page in pages:
        for line in page.split("\n")[:15]:
            line = line.strip()
            letters = sum(ch.isalpha() for ch in line)
            if 3 <= len(line) <= 200 and letters >= 0.5 * len(line) and not is_page_number(line):
                return line[:TITLE_MAX_CHARS]
        if page:
            break
    return source.replace("\\", "/").rsplit("/", 1)[-1]


def parse_pdf(
    raw: bytes,
    source: str,
    *,
    doc_id: str,
    url: str | None = None,
    source_name: str | None = None,
    max_pages: int = MAX_PAGES,
    time_budget_s: float | None = None,
    ocr: OcrOptions | None = None,
    ocr_budget_s: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Document:
    """Parse a PDF; raises ParseError with ENCRYPTED, NEEDS_OCR, GARBLED, EMPTY or FAILED.

    At most ``max_pages`` pages are read. ``time_budget_s`` (off by default, so that the result
    depends only on the input) stops reading further pages once spent; the document is then partial
    and says so in its warnings.

    With ``ocr`` options, the pages ``select_ocr_pages`` picks are read by Tesseract (``ingest.ocr``)
    before the checks below, so a scan or a garbled layer becomes text where OCR reads it; OCR stops
    at ``ocr_budget_s`` seconds after the call, and ``progress(done, total)`` follows it page by page.
    Without ``ocr`` (or without Tesseract) such files keep their status, and the reason says why OCR
    did not run.
    """
    started = time.monotonic()
    deadline = started + time_budget_s if time_budget_s else None
    ocr_deadline = started + ocr_budget_s if ocr_budget_s else deadline
    best, notes = _read(raw, max_pages, deadline)
    if best.page_count > len(best.pages):
        notes.append(f"read {len(best.pages)} of {best.page_count} pages")
    if best.page_count == 0:
        raise ParseError(FileStatus.EMPTY, "the PDF has no pages")
    ocr_pages: tuple[OcrPage, ...] = ()
    no_ocr = ""  # why the wanted pages were not read, for the reason of a file that needs them
    wanted = select_ocr_pages(best.pages, best.page_images, best.page_map)
    if not wanted and best.letters and best.garble >= GARBLED_SCORE:  # garbage spread thinly over the pages
        wanted = [(index, GARBLED_LAYER) for index, page in enumerate(best.pages) if page.strip()]
    if wanted:
        outcome = "" if ocr is None else _run_ocr(raw, best, wanted, ocr, ocr_deadline, progress)
        if isinstance(outcome, str):
            no_ocr = f"; {outcome}" if outcome else ""
        else:
            best, ocr_pages = outcome.extraction, outcome.pages
            notes.extend(outcome.notes)
            if outcome.tried and not ocr_pages:
                found = "no more text than the text layer" if outcome.letters else "no text"
                no_ocr = f"; OCR read {found} on {outcome.tried} page(s)"
    letters = best.letters
    pages_read = max(1, len(best.pages))
    if letters < OCR_LETTERS_PER_PAGE * pages_read and best.image_pages * 2 >= pages_read and best.image_pages:
        raise ParseError(
            FileStatus.NEEDS_OCR,
            f"needs OCR: {best.image_pages} of {pages_read} pages are images, {letters} letters of text in all"
            + no_ocr,
        )
    if letters < OCR_LETTERS_PER_PAGE * pages_read and ocr_pages:
        mean = sum(p.confidence for p in ocr_pages) / len(ocr_pages)
        raise ParseError(
            FileStatus.NEEDS_OCR,
            f"needs OCR: OCR read only {letters} letters on {pages_read} page(s) (mean word confidence {mean:.0f} %)",
        )
    if letters == 0:
        raise ParseError(FileStatus.EMPTY, f"no text and no images on {pages_read} page(s)")
    score = best.garble
    if score >= GARBLED_SCORE:
        raise ParseError(
            FileStatus.GARBLED,
            f"garbled text layer ({best.engine}): garble score {score:.2f} "
            "(unmapped glyphs, control/private-use characters or implausible letters)" + no_ocr,
        )

    pages = _clean_pages(best.pages)
    text, spans = _join(pages)
    if not any(ch.isalnum() for ch in text):
        raise ParseError(FileStatus.EMPTY, "no text left after removing running headers and page numbers")
    images_only = sum(1 for page in pages if not page)
    if images_only and best.image_pages:
        notes.append(f"{images_only} page(s) without text (may need OCR){no_ocr}")
    title = _title(best.metadata, pages, source)
    found_date = (
        pdf_date(best.metadata.get("CreationDate")) or pdf_date(best.metadata.get("ModDate")) or text_date(text[:3000])
    )
    return Document(
        doc_id=doc_id,
        source=source,
        title=title,
        text=text,
        content_hash=content_hash(raw),
        url=url,
        doc_type=classify_doc_type(title, text, url or source, MEDIA_TYPE),
        date=found_date,
        language=detect_language(text),
        media_type=MEDIA_TYPE,
        pages=spans,
        source_name=source_name,
        warnings=tuple(notes),
        ocr_pages=ocr_pages,
    )
