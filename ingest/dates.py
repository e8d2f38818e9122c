"""Dates as ISO ``YYYY-MM-DD`` from metadata values and from German (and English) text."""

from __future__ import annotations

import re
from datetime import date

# Dates outside this range are typos, placeholders or epoch defaults, not a document's date.
MIN_YEAR = 1990
MAX_YEAR = 2099

_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b")
_PDF_DATE = re.compile(r"(?:D:)?(\d{4})(\d{2})(\d{2})")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("januar", "jänner", "january"),
            ("februar", "feber", "february"),
            ("märz", "maerz", "march"),
            ("april",),
            ("mai", "may"),
            ("juni", "june"),
            ("juli", "july"),
            ("august",),
            ("september",),
            ("oktober", "october"),
            ("november",),
            ("dezember", "december"),
        ),
        start=1,
    )
    for name in names
}
_TEXT_DATE = re.compile(
    r"\b(?:(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})|(\d{1,2})\.\s?([^\W\d_]+)\s(\d{4})|(\d{4})-(\d{2})-(\d{2}))\b"
)


def _plausible(year: int, month: int, day: int) -> str | None:
    try:
        found = date(year, month, day)
    except ValueError:
        return None
    return found.isoformat() if MIN_YEAR <= found.year <= MAX_YEAR else None


def iso_date(value: str | None) -> str | None:
    """From an ISO timestamp ("2021-03-15T10:00:00+01:00") or a numeric German date ("15.03.2021")."""
    if not value:
        return None
    match = _ISO_DATE.search(value)
    if match:
        return _plausible(int(match[1]), int(match[2]), int(match[3]))
    match = _NUMERIC_DATE.search(value)
    if match:
        return _plausible(int(match[3]), int(match[2]), int(match[1]))
    return None


def pdf_date(value: str | None) -> str | None:
    """From a PDF date string ("D:20210315093000+01'00'")."""
    match = _PDF_DATE.match((value or "").strip())
    return _plausible(int(match[1]), int(match[2]), int(match[3])) if match else None


def text_date(text: str) -> str | None:
    """The first plausible date written in ``text``: "15.03.2021", "15. März 2021" or "2021-03-15"."""
    for match in _TEXT_DATE.finditer(text):
        g = match.groups()
        if g[0]:
            found = _plausible(int(g[2]), int(g[1]), int(g[0]))
        elif g[3]:
            found = _plausible(int(g[5]), _MONTHS.get(g[4].lower(), 0), int(g[3]))
        else:
            found = _plausible(int(g[6]), int(g[7]), int(g[8]))
        if found:
            return found
    return None
