"""One request resolver for every front end: what a user typed -> a validated ``SearchRequest``.

The CLI (``search``), the API (``/search``, the exports), the web page, the register views and the
evaluation runner all send their parameters through ``resolve_request`` (and the register through
``resolve_places``/``resolve_programs``), so a filter means the same everywhere and an invalid value is
the same German ``QueryError`` everywhere:

* places: an AGS key (or region key), a name or alias in any case ("kreis unna"), an inflected form
  ("Bergkamens", "im Kreis Unna" is not needed: the value is one place), or a typo within reason (one
  edit for names of up to eight letters, two beyond: "Kreis Una", "Gelsenkirchn"); an ambiguous or
  unknown value is an error that names the closest places;
* programs: the canonical name or any alias ("JTF", "Fünf-Standorte-Programm"); unknown is an error;
* document types: ``press_release project_page progress_report other`` (or their German labels);
* dates: ``YYYY-MM-DD``, ``date_from`` not after ``date_to``;
* languages: two-letter codes; sources: crawl source names as given;
* mode, fusion and place handling: one of their values.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import cast, get_args

from core.analysis import transliterate
from core.errors import QueryError
from core.gazetteer import Gazetteer, Place
from core.models import DocType
from core.store.base import SearchFilter
from search.engine import MAX_K, MAX_QUERY_CHARS, Mode, PlaceMode, SearchOptions, SearchRequest, query_text
from search.fusion import Fusion

DOC_TYPE_LABELS = {
    DocType.PRESS_RELEASE.value: "Pressemitteilung",
    DocType.PROJECT_PAGE.value: "Projektseite",
    DocType.PROGRESS_REPORT.value: "Fortschrittsbericht",
    DocType.OTHER.value: "Sonstiges",
}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LANGUAGE = re.compile(r"[a-z]{2}")


@dataclass(frozen=True)
class RequestParams:
    """A search as a user typed it, in any front end: raw strings, nothing resolved yet."""

    query: str
    k: int = 10
    places: Sequence[str] = ()
    programs: Sequence[str] = ()
    doc_types: Sequence[str] = ()
    date_from: str | None = None
    date_to: str | None = None
    languages: Sequence[str] = ()
    sources: Sequence[str] = ()
    mode: str | None = None
    fusion: str | None = None
    place_mode: str | None = None


@dataclass(frozen=True)
class Resolved:
    """The validated request and what its filters were resolved to (for display: "Kreis Unna (05978)")."""

    request: SearchRequest
    places: tuple[Place, ...] = ()
    programs: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())  # e.g. "Ort 'Kreis Una' als Kreis Unna gelesen"


def resolve_request(params: RequestParams, gazetteer: Gazetteer, defaults: SearchOptions) -> Resolved:
    """Validate and resolve ``params``; raises ``QueryError`` with a German message."""
    query = query_text(params.query)
    if not query:
        raise QueryError("Die Suchanfrage ist leer.")
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"Die Suchanfrage ist länger als {MAX_QUERY_CHARS} Zeichen.")
    if not 1 <= params.k <= MAX_K:
        raise QueryError(f"k muss zwischen 1 und {MAX_K} liegen.")
    options = replace(
        defaults,
        mode=cast(Mode, _choice("Suchmodus", params.mode, get_args(Mode), defaults.mode)),
        fusion=cast(Fusion, _choice("Fusion", params.fusion, get_args(Fusion), defaults.fusion)),
        place_mode=cast(
            PlaceMode, _choice("Ortsbehandlung", params.place_mode, get_args(PlaceMode), defaults.place_mode)
        ),
    )
    places, notes = resolve_places(params.places, gazetteer)
    programs = resolve_programs(params.programs, gazetteer)
    doc_types = tuple(dict.fromkeys(resolve_doc_type(t) for t in params.doc_types if t.strip()))
    date_from = resolve_date(params.date_from, "date_from")
    date_to = resolve_date(params.date_to, "date_to")
    if date_from and date_to and date_from > date_to:
        raise QueryError(f"Der Zeitraum ist leer: date_from {date_from} liegt nach date_to {date_to}.")
    languages = tuple(dict.fromkeys(resolve_language(v) for v in params.languages if v.strip()))
    sources = tuple(dict.fromkeys(v.strip() for v in params.sources if v.strip()))
    keys: list[str] = []
    for place in places:
        keys.extend(gazetteer.place_filter_keys(place.ags))
    flt = SearchFilter(
        place_keys=tuple(dict.fromkeys(keys)),
        programs=programs,
        doc_types=doc_types,
        languages=languages,
        source_names=sources,
        date_from=date_from,
        date_to=date_to,
    )
    request = SearchRequest(query=query, k=params.k, filter=flt, options=options)
    return Resolved(request, places, programs, doc_types, notes)


def _choice(what: str, value: str | None, allowed: tuple[str, ...], default: str) -> str:
    if value is None or not value.strip():
        return default
    if value.strip() not in allowed:
        raise QueryError(f"Unbekannter Wert für {what}: {value!r} (erlaubt: {', '.join(allowed)}).")
    return value.strip()


# --- places


def resolve_places(values: Sequence[str], gazetteer: Gazetteer) -> tuple[tuple[Place, ...], tuple[str, ...]]:
    """Each value -> one place (see the module docstring); duplicates removed, order kept."""
    found: dict[str, Place] = {}
    notes: list[str] = []
    for value in values:
        if not value.strip():
            continue
        place, note = resolve_place(value, gazetteer)
        found.setdefault(place.ags, place)
        if note:
            notes.append(note)
    return tuple(found.values()), tuple(notes)


def resolve_place(value: str, gazetteer: Gazetteer) -> tuple[Place, str | None]:
    """One place filter value -> its ``Place``, and a note when it was read as a correction of a typo."""
    text = " ".join(value.split())
    if text in gazetteer.places:
        return gazetteer.places[text], None
    if text.isdigit():
        raise QueryError(f"Unbekannter Ort: {text!r} (kein amtlicher Gemeindeschlüssel der Ortsliste).")
    folded = _fold(text)
    for place in gazetteer.places.values():
        if folded == _fold(place.name) or any(folded == _fold(a) for a in place.aliases):
            return place, None
    mentions = gazetteer.find_places(text, ignore_case=True)
    if len(mentions) == 1 and mentions[0].start == 0 and mentions[0].end >= len(text) - 1:
        return gazetteer.places[mentions[0].ags], None  # an inflected form: "Bergkamens", "Kreises Unna"
    close = _closest_places(folded, gazetteer)
    if len(close) == 1:
        place = close[0]
        return place, f"Ort {text!r} als {place.name} gelesen"
    hint = f" Meinten Sie: {', '.join(p.name for p in close[:4])}?" if close else ""
    raise QueryError(f"Unbekannter Ort: {text!r} (Name oder amtlicher Gemeindeschlüssel erwartet).{hint}")


def _closest_places(folded: str, gazetteer: Gazetteer) -> list[Place]:
    """Places whose name or an alias is within the typo budget of ``folded``; the closest only."""
    budget = 1 if len(folded) <= 8 else 2
    best: dict[str, tuple[int, Place]] = {}
    for place in gazetteer.places.values():
        for name in (place.name, *place.aliases):
            d = edit_distance(folded, _fold(name), budget)
            if d <= budget and (place.ags not in best or d < best[place.ags][0]):
                best[place.ags] = (d, place)
    if not best:
        return []
    least = min(d for d, _ in best.values())
    return [p for d, p in sorted(best.values(), key=lambda dp: (dp[0], dp[1].name)) if d == least]


def _fold(text: str) -> str:
    """Case and umlauts folded, so "Luenen" and "LÜNEN" are Lünen."""
    return transliterate(text)


def edit_distance(a: str, b: str, cap: int) -> int:
    """Damerau-Levenshtein distance (adjacent transpositions count one), or ``cap + 1`` once above ``cap``."""
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > cap:
            return cap + 1
        prev2, prev = prev, cur
    return prev[-1]


# --- programs, document types, dates, languages


def resolve_programs(values: Sequence[str], gazetteer: Gazetteer) -> tuple[str, ...]:
    return tuple(dict.fromkeys(resolve_program(v, gazetteer) for v in values if v.strip()))


def resolve_program(value: str, gazetteer: Gazetteer) -> str:
    """A program name or any alias -> the canonical name; unknown is an error."""
    text = " ".join(value.split())
    if text in gazetteer.programs:
        return text
    for program in gazetteer.programs.values():
        if _fold(text) == _fold(program.name) or any(_fold(text) == _fold(a) for a in program.aliases):
            return program.name
    found = gazetteer.find_programs(text, ignore_case=True)
    if found and found[0].start == 0 and found[0].end >= len(text) * 0.6:
        return found[0].name
    raise QueryError(f"Unbekanntes Förderprogramm: {text!r} (Name oder Abkürzung eines Programms der Liste erwartet).")


def resolve_doc_type(value: str) -> str:
    text = value.strip()
    if text in DOC_TYPE_LABELS:
        return text
    for key, label in DOC_TYPE_LABELS.items():
        if text.casefold() == label.casefold():
            return key
    allowed = ", ".join(DOC_TYPE_LABELS)
    raise QueryError(f"Unbekannte Dokumentart: {text!r} (erlaubt: {allowed}).")


def resolve_date(value: str | None, what: str) -> str | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(text)
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise QueryError(f"Ungültiges Datum für {what}: {text!r} (JJJJ-MM-TT erwartet).") from None


def resolve_language(value: str) -> str:
    text = value.strip().lower()
    if not _LANGUAGE.fullmatch(text):
        raise QueryError(f"Ungültiger Sprachcode: {value.strip()!r} (zwei Buchstaben erwartet, z. B. de, en).")
    return text
