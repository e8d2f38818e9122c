"""Scanned German test pages, made here: known text -> page image like a scanner's -> PDF, and the
character error rate of what OCR reads back.

A page is German prose from funding texts (umlauts, ß, section signs, dates, amounts, file numbers),
set in DejaVu Sans (Debian's ``fonts-dejavu-core``) at 11 pt on an A4 page, rasterised at a scanner's
resolution (300 dpi by default), turned by a slight skew, blurred a little and sprinkled with
gaussian noise and dust specks, then stored as a greyscale JPEG page of a PDF without any text
layer. ``seed`` makes every page reproducible.

CER (Morris et al. 2004, "From WER and RIL to MER and WIL"; the usual OCR measure): Levenshtein
distance between reference and recognised text divided by the reference length, both with
whitespace collapsed to single spaces (line breaks are layout, not characters).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

FONT_PATHS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
)
A4_MM = (210.0, 297.0)

PLACES = (
    "Lünen",
    "Mülheim an der Ruhr",
    "Hünxe",
    "Gelsenkirchen",
    "Bergkamen",
    "Castrop-Rauxel",
    "Bönen",
    "Fröndenberg/Ruhr",
    "Gladbeck",
    "Dortmund",
    "Bochum",
    "Herne",
    "Oberhausen",
    "Kamp-Lintfort",
    "Schwerte",
    "Witten",
    "Hattingen",
    "Datteln",
    "Waltrop",
    "Recklinghausen",
    "Dorsten",
    "Haltern am See",
    "Holzwickede",
    "Selm",
    "Unna",
    "Hamm",
    "Essen",
    "Duisburg",
    "Moers",
    "Marl",
)
PROJECTS = (
    "den Umbau der Zechenbrache",
    "die Sanierung der Gesamtschule",
    "den Ausbau des Radwegs an der Lippe",
    "den Neubau der Stadtbücherei",
    "die Begrünung der Innenstadt",
    "das Gründerzentrum für Wasserstoff",
    "die Erschließung des Gewerbegebiets",
    "die Wärmeversorgung mit Grubenwasser",
    "das Quartiersbüro",
    "die Umgestaltung des Marktplatzes",
    "die Straßenbeleuchtung mit LED",
    "den Hochwasserschutz an der Emscher",
)
MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober")
TEMPLATES = (
    "Das Land fördert {project} in {place} mit {amount}.",
    "Die Förderquote für {project} in {place} beträgt {percent} % nach § {para} Abs. {abs} der Richtlinie.",
    "Der Zuwendungsbescheid vom {date} für {place} (Az. III B {abs} - {para}.{abs}1.04) ist bestandskräftig.",
    "Bis zum {date} muss {place} für {project} einen Verwendungsnachweis über {amount} vorlegen.",
    "In {place} wurden {count} Anträge gestellt; bewilligt sind {percent} % mit zusammen {amount}.",
    "Größere Vorhaben wie {project} in {place} erhalten höchstens {amount} je Maßnahme.",
    "Über {project} in {place} entscheidet ein Gremium aus Land, Kommunen und Wirtschaftsförderung.",
    "Für {project} schließt {place} die Finanzierungslücke von {amount} aus eigenen Mitteln.",
)


def _amount(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{rng.randint(1, 40)},{rng.randint(1, 9)} Mio. Euro"
    return f"{rng.randint(10, 9_999) * 100:,} Euro".replace(",", ".")


def sentence(rng: random.Random) -> str:
    """One sentence of funding prose with a place, a project, an amount or a date."""
    return rng.choice(TEMPLATES).format(
        project=rng.choice(PROJECTS),
        place=rng.choice(PLACES),
        amount=_amount(rng),
        percent=rng.choice((50, 60, 70, 80, 90)),
        para=rng.randint(2, 12),
        abs=rng.randint(1, 5),
        count=rng.randint(12, 2_400),
        date=f"{rng.randint(1, 28)}. {rng.choice(MONTHS)} {rng.randint(2019, 2026)}",
    )


@dataclass(frozen=True)
class ScanStyle:
    """How a page is 'scanned': resolution, skew in degrees, noise and blur."""

    dpi: int = 300
    skew_deg: float = 0.6
    noise_sigma: float = 12.0
    specks: int = 400
    blur: float = 0.6
    jpeg_quality: int = 75
    font_pt: float = 11.0


def font_path() -> Path:
    for path in FONT_PATHS:
        if path.is_file():
            return path
    raise FileNotFoundError("DejaVu Sans not found (Debian: apt-get install fonts-dejavu-core)")


def page_text(seed: int, sentences: int = 18, extra: str = "") -> str:
    """A page of German prose: ``sentences`` sentences drawn with ``seed`` (one paragraph each), then
    ``extra`` if given."""
    rng = random.Random(seed)
    chosen = [sentence(rng) for _ in range(sentences)]
    if extra:
        chosen.append(extra)
    return "\n".join(chosen)


def _wrap(text: str, font: object, width_px: int) -> list[str]:
    from PIL import ImageFont

    assert isinstance(font, ImageFont.FreeTypeFont)
    out: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if line and font.getlength(candidate) > width_px:
                out.append(line)
                line = word
            else:
                line = candidate
        out.append(line)
    return out


def scan_image(text: str, style: ScanStyle, seed: int = 0) -> object:
    """``text`` set on an A4 page and 'scanned': a greyscale PIL image at ``style.dpi``."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    px_per_mm = style.dpi / 25.4
    width, height = round(A4_MM[0] * px_per_mm), round(A4_MM[1] * px_per_mm)
    margin = round(25 * px_per_mm)
    font = ImageFont.truetype(str(font_path()), round(style.font_pt / 72 * style.dpi))
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    line_height = round(style.font_pt / 72 * style.dpi * 1.45)
    y = margin
    for line in _wrap(text, font, width - 2 * margin):
        draw.text((margin, y), line, fill=20, font=font)
        y += line_height
    image = image.rotate(style.skew_deg, resample=Image.Resampling.BICUBIC, fillcolor=255)
    if style.blur:
        image = image.filter(ImageFilter.GaussianBlur(style.blur))
    rng = np.random.default_rng(seed)
    pixels = np.asarray(image, dtype=np.float32)
    pixels += rng.normal(0.0, style.noise_sigma, pixels.shape)
    ys, xs = rng.integers(0, height, style.specks), rng.integers(0, width, style.specks)
    pixels[ys, xs] = rng.integers(0, 120, style.specks)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="L")


def scanned_pdf(pages: list[str], style: ScanStyle | None = None, *, digital: dict[int, str] | None = None) -> bytes:
    """A PDF whose pages are scans of ``pages`` (no text layer); page numbers (1-based) in ``digital``
    are instead set as real text, so a mixed report can be made."""
    from fpdf import FPDF

    style = style or ScanStyle()
    digital = digital or {}
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_font("DejaVu", fname=str(font_path()))
    total = len(pages) + len(digital)
    texts = iter(pages)
    for number in range(1, total + 1):
        pdf.add_page()
        if number in digital:
            pdf.set_font("DejaVu", size=11)
            pdf.set_xy(25, 25)
            pdf.multi_cell(160, 6, digital[number])
            continue
        image = scan_image(next(texts), style, seed=number)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=style.jpeg_quality, dpi=(style.dpi, style.dpi))  # type: ignore[attr-defined]
        buffer.seek(0)
        pdf.image(buffer, x=0, y=0, w=A4_MM[0], h=A4_MM[1])
    return bytes(pdf.output())


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions of one character each)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate of ``hypothesis`` against ``reference``, whitespace collapsed."""
    ref, hyp = " ".join(reference.split()), " ".join(hypothesis.split())
    if not ref:
        return float(bool(hyp))
    return levenshtein(ref, hyp) / len(ref)
