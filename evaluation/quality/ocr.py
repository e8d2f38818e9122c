"""OCR measurement: character error rate and pages/s on generated German scans, per render
resolution and binding, and what OCR changes on the real-world files.

    .venv/bin/python -m evaluation.quality.ocr --out evaluation/reports/ocr.md [--realworld ../shared/realworld]

1. CER (``evaluation.quality.ocr_pages.cer``) of Tesseract on scanned German pages made by
   ``evaluation.quality.ocr_pages`` in two scan styles (an office scanner: 300 dpi, 11 pt; a fax-like
   scan: 200 dpi, 9 pt, stronger skew), each page rendered by PDFium at every resolution measured.
   Pages/s counts rendering and recognition of one page, one process, as the parse worker does it.
2. The binding: tesserocr (in process, one Tesseract for all pages) against pytesseract (a
   ``tesseract`` process per page), when pytesseract is importable (it is no dependency:
   ``.venv/bin/pip install pytesseract==0.3.13``); same images, at the default resolution, on the
   first two scan styles.
3. With ``--realworld``, a real scan: ``pypdf__Seige_of_Vicksburg_Sample_OCR.pdf`` (a scanned
   English book, 6 pages) carries its publisher's OCR layer; Tesseract's reading of its page images
   is compared with that layer (itself OCR, so the "CER" is disagreement, an upper bound).
4. With ``--realworld``: every PDF of the folder parsed by the isolated worker pool with OCR off
   and on; the statuses before and after and the reason of every file OCR did not make ``indexed``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from evaluation.quality.ocr_pages import ScanStyle, cer, page_text, scanned_pdf

STYLES = {
    "office scan (300 dpi, 11 pt, skew 0.6°)": ScanStyle(),
    "fax-like scan (200 dpi, 9 pt, skew -1.0°)": ScanStyle(dpi=200, font_pt=9.0, skew_deg=-1.0, noise_sigma=16.0),
    "small print (300 dpi, 7 pt)": ScanStyle(font_pt=7.0),
    "office scan upside down (skew 180.5°)": ScanStyle(skew_deg=180.5),
}


@dataclass(frozen=True)
class Row:
    style: str
    dpi: int
    binding: str
    cers: tuple[float, ...]
    seconds: tuple[float, ...]
    confidence: float

    @property
    def pages_per_s(self) -> float:
        return len(self.seconds) / sum(self.seconds)


def _images(raw: bytes, dpi: int) -> list[object]:
    import pypdfium2 as pdfium

    from ingest.ocr import render_page

    pdf = pdfium.PdfDocument(raw)
    try:
        return [render_page(pdf, index, dpi)[0] for index in range(len(pdf))]
    finally:
        pdf.close()


def measure(pages: int, dpis: list[int], binding_dpi: int | None) -> list[Row]:
    from ingest.ocr import OcrOptions, Tesseract

    rows = []
    for name, style in STYLES.items():
        texts = [page_text(seed) for seed in range(100, 100 + pages)]
        raw = scanned_pdf(texts, style)
        for dpi in dpis:
            engine = Tesseract.open(OcrOptions(dpi=dpi))
            if isinstance(engine, str):
                raise SystemExit(engine)
            cers, seconds, confidences = [], [], []
            with engine:
                for text, image in zip(texts, _images(raw, dpi), strict=True):
                    started = time.monotonic()
                    read = engine.read(image, dpi)
                    seconds.append(time.monotonic() - started)
                    cers.append(cer(text, read.text))
                    confidences.append(read.confidence)
            rows.append(Row(name, dpi, "tesserocr", tuple(cers), tuple(seconds), statistics.mean(confidences)))
            print(f"{name} @ {dpi} dpi: CER {statistics.mean(cers):.4f}", file=sys.stderr)
        if binding_dpi and name in list(STYLES)[:2]:
            rows.extend(_pytesseract(name, texts, raw, [binding_dpi]))
    return rows


def _pytesseract(name: str, texts: list[str], raw: bytes, dpis: list[int]) -> list[Row]:
    try:
        import pytesseract
    except ImportError:
        return []
    rows = []
    for dpi in dpis:
        cers, seconds = [], []
        for text, image in zip(texts, _images(raw, dpi), strict=True):
            started = time.monotonic()
            read = pytesseract.image_to_string(image, lang="deu", config=f"--dpi {dpi}")
            seconds.append(time.monotonic() - started)
            cers.append(cer(text, read))
        rows.append(Row(name, dpi, "pytesseract", tuple(cers), tuple(seconds), float("nan")))
    return rows


VICKSBURG = "pdf/pypdf__Seige_of_Vicksburg_Sample_OCR.pdf"


def real_scan(folder: Path, dpis: list[int]) -> list[Row]:
    """Disagreement of Tesseract with the publisher's OCR layer of a real scan, per resolution."""
    import pypdfium2 as pdfium

    from ingest.ocr import OcrOptions, Tesseract, render_page

    pdf = pdfium.PdfDocument((folder / VICKSBURG).read_bytes())
    rows = []
    try:
        layers = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
        for dpi in dpis:
            engine = Tesseract.open(OcrOptions(dpi=dpi))
            if isinstance(engine, str):
                raise SystemExit(engine)
            with engine:
                reads = [engine.read(*render_page(pdf, i, dpi)) for i in range(len(pdf))]
            rows.append(
                Row(
                    "real scan vs its own OCR layer (Vicksburg, English)",
                    dpi,
                    "tesserocr",
                    tuple(cer(layer, read.text) for layer, read in zip(layers, reads, strict=True)),
                    tuple(read.seconds for read in reads),
                    statistics.mean(read.confidence for read in reads),
                )
            )
    finally:
        pdf.close()
    return rows


def realworld(folder: Path, timeout_s: float) -> tuple[dict[str, str], dict[str, tuple[str, str | None, int]]]:
    """Status per PDF with OCR off, and (status, reason, OCR pages) with OCR on."""
    from core.errors import ParseError
    from ingest.isolation import ParseJob, ParserPool
    from ingest.ocr import OcrOptions

    files = sorted((folder / "pdf").glob("*.pdf"))
    jobs = [ParseJob(path, doc_id=path.name, source=path.name) for path in files]
    outcomes: dict[bool, dict[str, tuple[str, str | None, int]]] = {}
    for enabled in (False, True):
        with ParserPool(workers=2, timeout_s=timeout_s, ocr=OcrOptions(enabled=enabled)) as pool:
            outcomes[enabled] = {
                parsed.job.source: (
                    (parsed.outcome.status.value, parsed.outcome.reason, 0)
                    if isinstance(parsed.outcome, ParseError)
                    else ("indexed", None, len(parsed.outcome.ocr_pages))
                )
                for parsed in pool.parse_many(jobs)
            }
    return {source: verdict[0] for source, verdict in outcomes[False].items()}, outcomes[True]


def report(
    rows: list[Row],
    real: tuple[dict[str, str], dict[str, tuple[str, str | None, int]]] | None,
    load: tuple[float, float],
) -> str:
    lines = [
        "# OCR: character error rate and speed",
        "",
        "Reproduce: `.venv/bin/python -m evaluation.quality.ocr --out evaluation/reports/ocr.md "
        "--realworld ../shared/realworld` (module docstring: what is measured).",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPU cores, load average {load[0]:.1f} at the "
        f"start and {load[1]:.1f} at the end (the machine is shared: pages/s are comparable within this table, "
        "not across runs). Pages/s: rendering excluded, one page at a time in one process.",
        "",
        "| scan | render dpi | binding | pages | CER mean | CER max | mean word confidence | pages/s |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        conf = "" if r.confidence != r.confidence else f"{r.confidence:.1f}"
        lines.append(
            f"| {r.style} | {r.dpi} | {r.binding} | {len(r.cers)} | {statistics.mean(r.cers):.2%} | "
            f"{max(r.cers):.2%} | {conf} | {r.pages_per_s:.2f} |"
        )
    if real is not None:
        before, after = real
        lines += [
            "",
            "## ../shared/realworld, PDFs parsed by the isolated workers, OCR off -> on",
            "",
            f"Statuses with OCR off: {dict(sorted(Counter(before.values()).items()))}",
            f"Statuses with OCR on: {dict(sorted(Counter(s for s, _, _ in after.values()).items()))}",
            "",
            "| file | OCR off | OCR on | pages read by OCR | reason |",
            "|---|---|---|---:|---|",
        ]
        for source in sorted(after):
            status, reason, pages = after[source]
            if before[source] in ("needs_ocr", "garbled") or pages or status != before[source]:
                lines.append(f"| {source} | {before[source]} | {status} | {pages} | {reason or ''} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=6, help="generated pages per scan style")
    parser.add_argument("--dpi", type=int, nargs="+", default=[150, 200, 300])
    parser.add_argument("--binding-dpi", type=int, default=200, help="dpi of the pytesseract comparison (0: skip)")
    parser.add_argument("--realworld", type=Path, help="the shared real-world folder (PDFs in pdf/)")
    parser.add_argument("--timeout", type=float, default=60.0, help="parse time limit per file (s)")
    parser.add_argument("--out", type=Path, help="write the Markdown report here (default: stdout)")
    args = parser.parse_args(argv)
    load_start = os.getloadavg()[0]
    rows = measure(args.pages, args.dpi, args.binding_dpi)
    if args.realworld:
        rows += real_scan(args.realworld, args.dpi)
    real = realworld(args.realworld, args.timeout) if args.realworld else None
    text = report(rows, real, (load_start, os.getloadavg()[0]))
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        print(text)


if __name__ == "__main__":
    main()
