"""Values written in German text, found by pure regular expressions: money amounts and dates.

Shared by the writing side (``ingest.enrich`` annotates passages, ``ingest.facts`` builds the register)
and the reading side (``search.answer`` reads candidate values from passages), so a value is read the
same way wherever it is read.

* ``find_amounts`` finds money amounts ("150.000 Euro", "1,2 Mio. Euro", "€ 500.000", "rund 80
  Millionen Euro", "zwischen 2 und 3 Mrd. Euro") with their positions, normalised to euros. A number
  needs a currency next to it: "2038", "§ 4 Abs. 2", "22 Unternehmen" or a phone number are no amounts.
* ``find_dates`` finds dates as ISO strings at the precision the text gives: "12. März 2024" and
  "03.05.2023" -> day, "März 2024" -> month, "im Jahr 2038", "bis 2038", "Ende 2024", "2021–2027" ->
  year. Impossible dates ("31.02.2024") are dropped. A bare four-digit number is no year ("2000
  Beschäftigte"), so a year needs a cue word or a range.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

# --- amounts

# A German number: "150.000", "150 000", "1.500,50", "1,2", "45" (and "1.5" with a decimal point); the
# thousands separator is one kind per number, so "Kapitel 2 150.000 Euro" is 150.000 Euro.
_NUMBER = (
    r"(?<![\w.,])(?:\d{1,3}(?:\.\d{3})+(?:,\d+)?"
    # "150 000" (not "286 118,4 Mio.", a count and an amount side by side in a table row)
    r"|\d{1,3}(?:[\u00a0\u202f\u2009 ]\d{3})+(?:,\d+)?(?!\s*(?:Mio|Mrd|Mill|Tsd))|\d+(?:[.,]\d+)?)"
    r"(?![\d])"
)
_SCALE = r"Tsd\.?|[Tt]ausend|T(?=€|EUR)|Mio\.?|Millionen|Million|Mill\.|Mrd\.?|Milliarden|Milliarde"
_CURRENCY = r"(?:Euro|EURO|EUR|€)(?![^\W\d_])"
_WORD_NUMBER = (
    r"(?i:eineinhalb|anderthalb|zweieinhalb|eine[rmns]?|ein|zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|"
    r"elf|zwölf)"
)
_AMOUNT = re.compile(
    rf"""
    (?:zwischen\s+(?P<z1>{_NUMBER})(?:\s*(?P<zs1>{_SCALE}))?\s+und\s+
        (?P<z2>{_NUMBER})(?:\s*(?P<zs2>{_SCALE}))?[\s-]*{_CURRENCY})
  | (?:(?P<r1>{_NUMBER})(?:\s*(?P<rs1>{_SCALE}))?\s*(?:bis|-|–|—)\s*
        (?P<r2>{_NUMBER})(?:\s*(?P<rs2>{_SCALE}))?[\s-]*{_CURRENCY})
  | (?:(?:€|EUR)\s?(?P<pe>\d{{1,3}}(?:,\d{{3}})+)(?![\d,]))
  | (?:(?:€|EUR)\s?(?P<p>{_NUMBER})(?:\s*(?P<ps>Mio\.?|Millionen|Mrd\.?|Milliarden|Tsd\.?|million|billion))?)
  | (?:(?P<n>{_NUMBER})(?:\s*(?P<ns>{_SCALE}))?[\s-]*{_CURRENCY})
  | (?:(?<![\w])(?P<w>{_WORD_NUMBER})\s+(?P<ws>Millionen|Million|Milliarden|Milliarde|Mio\.|Mrd\.)\s*{_CURRENCY})
    """,
    re.VERBOSE,
)
_WORD_VALUES = {
    "ein": 1.0, "eine": 1.0, "einer": 1.0, "einem": 1.0, "einen": 1.0, "eines": 1.0,
    "eineinhalb": 1.5, "anderthalb": 1.5, "zweieinhalb": 2.5, "zwei": 2.0, "drei": 3.0, "vier": 4.0,
    "fünf": 5.0, "sechs": 6.0, "sieben": 7.0, "acht": 8.0, "neun": 9.0, "zehn": 10.0, "elf": 11.0,
    "zwölf": 12.0,
}  # fmt: skip


def _number(text: str) -> float:
    """'150.000' -> 150000.0, '1.500,50' -> 1500.5, '1,2' -> 1.2, '1.5' -> 1.5, '150 000' -> 150000.0."""
    digits = re.sub(r"[\u00a0\u202f\u2009 ]", "", text)
    if "," in digits:
        return float(digits.replace(".", "").replace(",", "."))
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", digits):
        return float(digits.replace(".", ""))
    return float(digits)


def _scale(word: str | None) -> int:
    if not word:
        return 1
    word = word.lower()
    if word.startswith(("mrd", "milliarde", "billion")):
        return 1_000_000_000
    if word.startswith(("mio", "million", "mill")):
        return 1_000_000
    return 1_000  # Tsd., Tausend, T€


@dataclass(frozen=True)
class AmountSpan:
    """A money amount at ``text[start:end]``; a range has ``low`` < ``high``, otherwise they are equal."""

    start: int
    end: int
    low: float
    high: float


def find_amounts(text: str) -> list[AmountSpan]:
    """Money amounts in ``text`` with their positions, in text order."""
    found: list[AmountSpan] = []
    for m in _AMOUNT.finditer(text):
        if m.group("z1") is not None:
            scale2 = m.group("zs2")
            low = _number(m.group("z1")) * _scale(m.group("zs1") or scale2)
            high = _number(m.group("z2")) * _scale(scale2)
        elif m.group("r1") is not None:
            scale2 = m.group("rs2")
            low = _number(m.group("r1")) * _scale(m.group("rs1") or scale2)
            high = _number(m.group("r2")) * _scale(scale2)
        elif m.group("pe") is not None:  # "EUR 150,000": English thousands after the currency
            low = high = float(m.group("pe").replace(",", ""))
        elif m.group("p") is not None:
            low = high = _number(m.group("p")) * _scale(m.group("ps"))
        elif m.group("n") is not None:
            low = high = _number(m.group("n")) * _scale(m.group("ns"))
        else:
            low = high = _WORD_VALUES[m.group("w").lower()] * _scale(m.group("ws"))
        found.append(AmountSpan(m.start(), m.end(), low, high))
    return found


# --- dates

_MONTHS = {
    "januar": 1, "jan.": 1, "februar": 2, "feb.": 2, "märz": 3, "maerz": 3, "mär.": 3, "april": 4,
    "apr.": 4, "mai": 5, "juni": 6, "jun.": 6, "juli": 7, "jul.": 7, "august": 8, "aug.": 8,
    "september": 9, "sept.": 9, "sep.": 9, "oktober": 10, "okt.": 10, "november": 11, "nov.": 11,
    "dezember": 12, "dez.": 12,
}  # fmt: skip
_MONTH = "|".join(re.escape(name) for name in sorted(_MONTHS, key=len, reverse=True))
_YEAR = r"(?:19|20)\d{2}(?![\d])"
# Not a year but an amount or a share: "bis 2000 Euro", "ab 2030 Prozent".
_NO_AMOUNT = r"(?![.,]\d)(?!\s*(?:Euro|EUR|€|Mio|Mrd|Millionen|Milliarden|Tsd|Prozent|%))"
_YEAR_CUE = (
    r"(?i:im|bis|seit|ab|von|vor|nach|zum|ende|anfang|mitte|frühjahr|frühling|sommer|herbst|winter|"
    r"jahr|jahre|jahren|jahres|jahresende|stand:?)"
)
_DATE = re.compile(
    rf"""
    (?<![\w.])(?P<iy>{_YEAR})-(?P<im>\d{{2}})-(?P<id>\d{{2}})(?![\d])
  | (?<![\w.,])(?P<nd>\d{{1,2}})\.\s?(?P<nm>\d{{1,2}})\.\s?(?P<ny>{_YEAR})
  | (?<![\w.,])(?P<dd>\d{{1,2}})\.\s*(?P<dm>(?i:{_MONTH}))\s*(?P<dy>{_YEAR})
  | (?<![\w])(?P<mm>(?i:{_MONTH}))\s+(?P<my>{_YEAR})
  | (?<![\w.,])(?P<ry1>{_YEAR})\s*(?:-|–|—|bis)\s*(?P<ry2>{_YEAR}){_NO_AMOUNT}
  | (?<![\w])(?:{_YEAR_CUE})(?:\s+(?:dem|zum|den|Jahr|Jahre|Jahren|Jahres|Ende|Anfang|Mitte))*\s+
        (?P<cy>{_YEAR}){_NO_AMOUNT}
    """,
    re.VERBOSE,
)


def _iso_day(year: str, month: str | int, day: str) -> str | None:
    try:
        return dt.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def find_dates(text: str) -> list[tuple[int, int, str]]:
    """(start, end, ISO date) of each date in ``text``; a year range yields both years at its span."""
    found: list[tuple[int, int, str]] = []
    for m in _DATE.finditer(text):
        if m.group("iy") is not None:
            date = _iso_day(m.group("iy"), m.group("im"), m.group("id"))
        elif m.group("ny") is not None:
            date = _iso_day(m.group("ny"), m.group("nm"), m.group("nd"))
        elif m.group("dy") is not None:
            date = _iso_day(m.group("dy"), _MONTHS[m.group("dm").lower()], m.group("dd"))
        elif m.group("my") is not None:
            date = f"{m.group('my')}-{_MONTHS[m.group('mm').lower()]:02d}"
        elif m.group("ry1") is not None:
            first, last = m.group("ry1"), m.group("ry2")
            if int(first) < int(last):
                found += [(m.start(), m.end(), first), (m.start(), m.end(), last)]
            continue
        else:
            found.append((m.start("cy"), m.end("cy"), m.group("cy")))
            continue
        if date is not None:
            found.append((m.start(), m.end(), date))
    return found
