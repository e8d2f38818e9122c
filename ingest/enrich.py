"""Enrichment: what a passage is about, as values a filter or a facet can use.

Pure functions over German text, no I/O; the finders with positions (``find_amounts``, ``find_dates``)
live in ``core.textvalues`` because the answering side reads values the same way:

* ``extract_amounts`` finds money amounts ("150.000 Euro", "1,2 Mio. Euro", "€ 500.000", "rund 80
  Millionen Euro", "zwischen 2 und 3 Mrd. Euro") and normalises them to euros. A number needs a
  currency next to it: "2038", "§ 4 Abs. 2", "22 Unternehmen" or a phone number are no amounts.
* ``extract_dates`` finds dates and returns them as ISO strings at the precision the text gives:
  "12. März 2024" and "03.05.2023" -> day, "März 2024" -> month, "im Jahr 2038", "bis 2038",
  "Ende 2024", "2021–2027" -> year. Impossible dates ("31.02.2024") are dropped. A bare four-digit
  number is no year ("2000 Beschäftigte"), so a year needs a cue word or a range.
* ``annotate`` combines them with the gazetteer's places (expanded upwards to Kreis, Regierungsbezirk,
  Land and region keys), programs and organisations into ``core.models.Annotations``.

Every extractor returns its findings in text order without repeats.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from core.gazetteer import Gazetteer
from core.models import Amount, Annotations
from core.textvalues import AmountSpan, find_amounts, find_dates

__all__ = ["AmountSpan", "annotate", "extract_amounts", "extract_dates", "find_amounts", "find_dates"]

_T = TypeVar("_T")


def extract_amounts(text: str) -> tuple[Amount, ...]:
    """Money amounts in ``text``, normalised to euros; a range yields both ends."""
    found: list[Amount] = []
    for a in find_amounts(text):
        whole = text[a.start : a.end]
        found.append(Amount(a.low, whole))
        if a.high != a.low:
            found.append(Amount(a.high, whole))
    return _unique(found)


def extract_dates(text: str) -> tuple[str, ...]:
    """Dates in ``text`` as ISO strings: ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``."""
    return _unique(date for _, _, date in find_dates(text))


# --- everything together


def annotate(text: str, gazetteer: Gazetteer) -> Annotations:
    """Places (names as mentioned; keys expanded upwards), programs, organisations, amounts, dates."""
    mentions = gazetteer.find_places(text)
    return Annotations(
        places=_unique(m.name for m in mentions),
        place_keys=_unique(key for m in mentions for key in gazetteer.expand_up(m.ags)),
        programs=_unique(m.name for m in gazetteer.find_programs(text)),
        organisations=_unique(m.name for m in gazetteer.find_organisations(text)),
        amounts=extract_amounts(text),
        dates=extract_dates(text),
    )


def _unique(items: Iterable[_T]) -> tuple[_T, ...]:
    """``items`` without repeats, in the order of first occurrence."""
    return tuple(dict.fromkeys(items))
