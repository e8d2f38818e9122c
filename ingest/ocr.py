"""Text from page images: Tesseract 5 with its German model, one page at a time.

    PDF page --PDFium render (greyscale, ``dpi``)--> image --Tesseract (tesserocr, in process)--> text,
                                                                          mean word confidence

The binding is tesserocr: it keeps one Tesseract instance (and its loaded model) for all pages of a
file, where pytesseract starts a ``tesseract`` process per page; on this machine that made tesserocr
3-4 times faster at the same character error rate (``evaluation/reports/ocr.md``). Its wheel brings
the engine; the language models come from Debian's ``tesseract-ocr-deu`` (``/usr/share/tesseract-ocr``)
or ``ocr_tessdata_dir``. Tesseract's automatic page segmentation finds the text blocks and lines of a
slightly skewed scan by itself; a page read with a mean confidence under ``ROTATED_BELOW`` is read
again with orientation detection (``PSM.AUTO_OSD``, needs ``osd.traineddata``), which turns pages
scanned sideways or upside down (measured: CER 0.87 -> 0.01 on a page turned by 90 or 180 degrees;
upright pages skip it, it costs about a quarter more time).

Nothing here decides which pages are read (``ingest.parse_pdf`` does), and nothing raises for a
missing engine: ``Tesseract.open`` returns the reason as a value, and the parser keeps the file's
``needs_ocr`` status with it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.models import OcrPage

# Where Debian (and most distributions) put the models; TESSDATA_PREFIX comes first.
TESSDATA_CANDIDATES = (
    Path("/usr/share/tesseract-ocr/5/tessdata"),
    Path("/usr/share/tesseract-ocr/4.00/tessdata"),
    Path("/usr/share/tessdata"),
    Path("/usr/local/share/tessdata"),
)
# A page image larger than this is rendered at a lower resolution (an A0 plan at 200 dpi would be
# 70 million pixels, a quarter of the worker's memory limit in Tesseract's copies).
MAX_PIXELS = 25_000_000
# An upright page of print reads at 85-95 % mean word confidence, a page turned sideways at ~30 %.
ROTATED_BELOW = 60.0


@dataclass(frozen=True)
class OcrOptions:
    """What the parser may do with OCR (from ``core.settings.Settings``, passed to the parse workers)."""

    enabled: bool = True
    languages: str = "deu"
    dpi: int = 200
    page_timeout_s: float = 30.0
    max_pages: int = 100
    min_confidence: float = 60.0
    tessdata_dir: Path | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> OcrOptions:
        return cls(
            enabled=settings.ocr_enabled,
            languages=settings.ocr_languages,
            dpi=settings.ocr_dpi,
            page_timeout_s=settings.ocr_page_timeout_s,
            max_pages=settings.ocr_max_pages,
            min_confidence=settings.ocr_min_confidence,
            tessdata_dir=settings.ocr_tessdata_dir,
        )


@dataclass(frozen=True)
class PageText:
    """What Tesseract read on one page; ``confidence`` is the mean of its word confidences (0-100)."""

    text: str
    confidence: float
    seconds: float
    timed_out: bool = False


def find_tessdata(options: OcrOptions) -> tuple[Path | None, str | None]:
    """The directory holding every model of ``options.languages``, or None and why not."""
    wanted = [lang for lang in options.languages.split("+") if lang]
    if options.tessdata_dir is not None:
        candidates = [options.tessdata_dir]
    else:
        prefix = os.environ.get("TESSDATA_PREFIX")
        candidates = ([Path(prefix)] if prefix else []) + list(TESSDATA_CANDIDATES)
    for directory in candidates:
        if all((directory / f"{lang}.traineddata").is_file() for lang in wanted):
            return directory, None
    models = ", ".join(f"{lang}.traineddata" for lang in wanted)
    where = ", ".join(str(c) for c in candidates)
    return None, (
        f"Tesseract model {models} not found in {where} (Debian: apt-get install tesseract-ocr tesseract-ocr-deu; "
        "or set FOERDERSUCHE_OCR_TESSDATA_DIR)"
    )


class Tesseract:
    """One Tesseract instance for the pages of a file. ``open`` gives it or the reason it cannot."""

    def __init__(self, api: Any, options: OcrOptions, tessdata: Path) -> None:
        self._api = api
        self._osd_api: Any = None  # built when a page first needs it
        self._tessdata = tessdata
        self.options = options

    @classmethod
    def open(cls, options: OcrOptions) -> Tesseract | str:
        """A ready engine, or why OCR is not available (a sentence for the file's reason)."""
        if not options.enabled:
            return "OCR is switched off (FOERDERSUCHE_OCR_ENABLED=false)"
        tessdata, missing = find_tessdata(options)
        if tessdata is None:
            return f"OCR unavailable: {missing}"
        try:
            import tesserocr
        except ImportError as err:
            return f"OCR unavailable: the Tesseract binding tesserocr cannot be imported ({err})"
        try:
            api = tesserocr.PyTessBaseAPI(path=str(tessdata), lang=options.languages, psm=tesserocr.PSM.AUTO)
        except RuntimeError as err:
            return f"OCR unavailable: Tesseract does not start with {options.languages} from {tessdata} ({err})"
        return cls(api, options, tessdata)

    def close(self) -> None:
        self._api.End()
        if self._osd_api is not None:
            self._osd_api.End()

    def __enter__(self) -> Tesseract:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, image: Any, dpi: int) -> PageText:
        """Recognise one page image (a PIL image) scanned or rendered at ``dpi``; a page read with low
        confidence is read again with orientation detection, and the better reading is kept."""
        started = time.monotonic()
        limit = self.options.page_timeout_s
        first = self._recognise(self._api, image, dpi, limit)
        if first.confidence < ROTATED_BELOW and not first.timed_out and limit > first.seconds:
            osd = self._orientation_api()
            if osd is not None:
                second = self._recognise(osd, image, dpi, limit - first.seconds)
                if second.confidence > first.confidence:
                    first = second
        return PageText(first.text, first.confidence, time.monotonic() - started, first.timed_out)

    def _orientation_api(self) -> Any:
        if self._osd_api is None and (self._tessdata / "osd.traineddata").is_file():
            import tesserocr

            self._osd_api = tesserocr.PyTessBaseAPI(
                path=str(self._tessdata), lang=self.options.languages, psm=tesserocr.PSM.AUTO_OSD
            )
        return self._osd_api

    def _recognise(self, api: Any, image: Any, dpi: int, limit_s: float) -> PageText:
        started = time.monotonic()
        api.SetImage(image)
        api.SetSourceResolution(dpi)
        finished = api.Recognize(timeout=max(1, round(limit_s * 1000)))
        if not finished:
            api.Clear()
            return PageText("", 0.0, time.monotonic() - started, timed_out=True)
        text = api.GetUTF8Text()
        confidences = [c for c in api.AllWordConfidences() if c >= 0]
        confidence = sum(confidences) / len(confidences) if confidences else 0.0
        api.Clear()
        return PageText(text, confidence, time.monotonic() - started)


def render_page(pdf: Any, index: int, dpi: int) -> tuple[Any, int]:
    """Page ``index`` of a pypdfium2 ``PdfDocument`` as a greyscale PIL image, and the resolution it
    was rendered at (lower than ``dpi`` for pages too large for ``MAX_PIXELS``)."""
    page = pdf[index]
    try:
        width_pt, height_pt = page.get_size()
        pixels = (width_pt * dpi / 72) * (height_pt * dpi / 72)
        if pixels > MAX_PIXELS:
            dpi = max(50, int(dpi * (MAX_PIXELS / pixels) ** 0.5))
        bitmap = page.render(scale=dpi / 72, grayscale=True, may_draw_forms=True)
        try:
            return bitmap.to_pil().copy(), dpi  # a copy: the PIL view shares the bitmap's buffer
        finally:
            bitmap.close()
    finally:
        page.close()


# --- OCR pages as the registry keeps them and as reports show them


def ocr_pages_json(pages: tuple[OcrPage, ...]) -> str | None:
    """The registry's form of a document's OCR pages: ``[[page, confidence, flagged], ...]``; None
    for a document without any."""
    if not pages:
        return None
    return json.dumps([[p.page, p.confidence, p.flagged] for p in pages])


def ocr_pages_from_json(text: str | None) -> tuple[OcrPage, ...]:
    if not text:
        return ()
    return tuple(OcrPage(int(page), float(conf), flagged=bool(flagged)) for page, conf, flagged in json.loads(text))


def ocr_file_summary(pages: tuple[OcrPage, ...]) -> dict[str, object] | None:
    """One file's OCR in a report: its pages, mean word confidence, flagged pages, seconds."""
    if not pages:
        return None
    seconds = sum(p.seconds for p in pages)
    return {
        "pages": [p.page for p in pages],
        "mean_confidence": round(sum(p.confidence for p in pages) / len(pages), 1),
        "flagged_pages": [p.page for p in pages if p.flagged],
        "seconds": round(seconds, 3),
    }


def ocr_run_summary(files: list[tuple[str, tuple[OcrPage, ...]]]) -> dict[str, object]:
    """A run's (or an index's) OCR: files and pages read, seconds, pages/s (null without timing), and
    every flagged page with its source and confidence."""
    pages = [p for _, file_pages in files for p in file_pages]
    seconds = sum(p.seconds for p in pages)
    return {
        "files": sum(1 for _, file_pages in files if file_pages),
        "pages": len(pages),
        "seconds": round(seconds, 3),
        "pages_per_s": round(len(pages) / seconds, 3) if seconds else None,
        "flagged": [
            {"source": source, "page": p.page, "confidence": p.confidence}
            for source, file_pages in files
            for p in file_pages
            if p.flagged
        ],
    }


def ocr_summary_lines(summary: dict[str, Any]) -> list[str]:
    """``ocr_run_summary`` as German lines for the terminal (none when OCR read no page)."""
    if not summary["pages"]:
        return []
    speed = f", {summary['seconds']:.1f} s ({summary['pages_per_s']:.2f} Seiten/s)" if summary["pages_per_s"] else ""
    lines = [f"Texterkennung (OCR): {summary['pages']} Seiten in {summary['files']} Dateien{speed}"]
    lines += [
        f"  unsicher: {f['source']}, Seite {f['page']}: Erkennungssicherheit {f['confidence']:.0f} %"
        for f in summary["flagged"]
    ]
    return lines
