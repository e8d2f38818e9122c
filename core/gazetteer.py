"""The gazetteer: places, funding programs and organisations of the Ruhr area's structural change,
and one fast matcher for each that copes with German inflection.

Shared by ingest (tagging passages) and search (recognising a place in a query), so both sides
resolve "Kreis Unna" to the same official key.

Places carry their official municipality key (AGS, Amtlicher Gemeindeschlüssel): ``05`` for the
Land, three digits for a Regierungsbezirk, five for a Kreis or kreisfreie Stadt, eight for a
Gemeinde, each starting with its parent's key. Regions (``ruhr``) are keys of lower-case letters
with member Kreise and kreisfreie Städte. The data lives in ``corpus/gazetteer/*.csv`` (its README
lists sources and columns).

Matching rules, in order:

* Every name, alias and adjective becomes a surface form, plus generated inflections: ``Kreises
  Unna`` (genitive), ``Märkischen Kreis``, ``Regierungsbezirks Arnsberg``, ``Dortmunds`` and an
  ALL-CAPS form for headlines.
* All surface forms of a kind go into one dict, looked up token by token (no large regex to compile,
  so loading stays fast). A match must start after a non-letter that is no hyphen (``Köln-Mülheim``
  is not Mülheim an der Ruhr) and end before a non-letter or a camel-case hump (``Bergkamen-Heil``,
  ``BergkamenHeil``; not ``Marlene``, ``Hamminkeln`` for Hamm, ``Werner`` for Werne). Whitespace
  inside a name may be any run of spaces or line breaks.
* Longest match wins: ``im Kreis Unna`` is the Kreis (05978), a bare ``Unna`` the city (05978036).
* Names that are also ordinary words carry a guard (``_NOT_AFTER`` and friends below): ``beim
  Essen`` is a meal, ``in den Alpen`` mountains, ``mit dem Hammer`` a tool while ``der Hammer
  Oberbürgermeister`` is Hamm's.
"""

from __future__ import annotations

import copy
import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from core.errors import ConfigError, QueryError
from core.settings import PROJECT_ROOT

DEFAULT_GAZETTEER_DIR = PROJECT_ROOT / "corpus" / "gazetteer"

PLACE_KINDS = ("land", "regierungsbezirk", "kreis", "kreisfreie_stadt", "gemeinde", "region")
PROGRAM_KINDS = ("foerderprogramm", "fonds", "gesetz", "initiative", "projekt", "cluster", "veranstaltung")
ORGANISATION_KINDS = (
    "hochschule",
    "forschung",
    "wirtschaftsfoerderung",
    "agentur",
    "verband",
    "bank",
    "kammer",
    "behoerde",
    "regierung",
    "ministerium",
    "eu",
    "unternehmen",
)
# Digits of an AGS by kind; regions use lower-case keys instead.
_KEY_DIGITS = {"land": 2, "regierungsbezirk": 3, "kreis": 5, "kreisfreie_stadt": 5, "gemeinde": 8}
_REGION_KEY = re.compile(r"[a-z][a-z_]*")
_PARENT_KIND = {
    "regierungsbezirk": "land",
    "kreis": "regierungsbezirk",
    "kreisfreie_stadt": "regierungsbezirk",
    "gemeinde": "kreis",
    "region": "land",
}


@dataclass(frozen=True, slots=True)
class Place:
    """A place with its official key; ``parent_ags`` is None only for the Land."""

    ags: str
    name: str
    kind: str
    parent_ags: str | None
    aliases: tuple[str, ...] = ()
    adjectives: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Program:
    name: str
    aliases: tuple[str, ...]
    kind: str
    description: str
    area: tuple[str, ...] = ()  # the places the program funds (its Fördergebiet), when it is a fixed list


@dataclass(frozen=True, slots=True)
class Organisation:
    name: str
    aliases: tuple[str, ...]
    kind: str


@dataclass(frozen=True, slots=True)
class PlaceMention:
    """A place named at ``text[start:end]``."""

    ags: str
    name: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Mention:
    """A program or organisation named at ``text[start:end]``, by its canonical name."""

    name: str
    start: int
    end: int


# --- guards for names that are also ordinary German words (keys: surface forms as in the data)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Rejected when the word right before is one of these (compared in lower case).
_NOT_AFTER: dict[str, frozenset[str]] = {
    "Essen": _words(
        "das dem des beim zum vom ein einem eines kein keinem zu gutes gutem gesundes gesunden "
        "warmes warmen gemeinsames gemeinsamen leckeres leckeren festliches festlichen ihr sein "
        "unser"
    ),
    "Alpen": _words("die den der bayerischen österreichischen schweizer französischen italienischen"),
    "Datteln": _words("die den der frische frischen getrocknete getrockneten süße süßen"),
    "Haltern": _words("den mit zwei drei vier neuen allen"),
    "Münster": _words("das dem des ins im am vom zum beim"),
    "Siegen": _words("das dem des zum beim vom"),
    "Hammer": _words("ein einen einem eines mit kleinen großen schweren"),
}
# Rejected after a capitalised adjective in -er: "Essener Münster" is a minster.
_NOT_AFTER_ADJECTIVE = frozenset({"Münster"})
# Accepted only before a capitalised word (attributive use): "Hammer Hafen", not "der Hammer liegt";
# "Schwerter Ruhrtal", not "Schwerter zu Pflugscharen".
_ATTRIBUTIVE_ONLY = frozenset({"Hammer", "Schwerter", "Selmer"})

_PREVIOUS_WORD = re.compile(r"(\w+)\s+\Z")
_NEXT_WORD = re.compile(r"\s+([^\W\d_])")
# A token: a word up to a camel-case hump ("Bergkamen" of "BergkamenHeil"), a word, or one other
# character. Surface forms and texts are cut the same way, so a surface form is a run of tokens.
_TOKEN = re.compile(r"[^\W\d_]*?[a-zäöüß](?=[A-ZÄÖÜ])|[^\W_]+|\S")


@dataclass(frozen=True, slots=True)
class _Guard:
    not_after: frozenset[str] = frozenset()
    not_after_adjective: bool = False
    attributive: bool = False


@dataclass(frozen=True, slots=True)
class _Entry:
    key: str  # AGS or canonical name
    exact_case: bool  # an acronym such as STARK or SPIN: never matched in another case
    guard: _Guard | None


def _guard_for(surface: str) -> _Guard | None:
    if surface not in _NOT_AFTER and surface not in _NOT_AFTER_ADJECTIVE and surface not in _ATTRIBUTIVE_ONLY:
        return None
    return _Guard(
        not_after=_NOT_AFTER.get(surface, frozenset()),
        not_after_adjective=surface in _NOT_AFTER_ADJECTIVE,
        attributive=surface in _ATTRIBUTIVE_ONLY,
    )


def _inflections(surface: str) -> list[str]:
    """The surface form and its generated inflections (see the module docstring)."""
    forms = [surface]
    if (m := re.search(r"(?<=[Kk]reis) ", surface)) is not None:  # Kreis Unna -> Kreises Unna
        forms.append(f"{surface[: m.start()]}es{surface[m.start() :]}")
    if " " not in surface and surface.endswith(("kreis", "Kreis")):  # Ennepe-Ruhr-Kreises
        forms.append(surface + "es")
    if (m := re.fullmatch(r"(\S+)er Kreis", surface)) is not None:  # Märkischen Kreis(es)
        stem = m.group(1)
        forms += [f"{stem}en Kreis", f"{stem}en Kreises", f"{stem}em Kreis"]
    if surface.startswith("Regierungsbezirk "):
        rest = surface.removeprefix("Regierungsbezirk ")
        forms += [f"Regierungsbezirks {rest}", f"Regierungsbezirkes {rest}"]
    if re.fullmatch(r"[\w-]+", surface) and surface[-1].islower() and surface[-1] not in "sßxz":
        forms.append(surface + "s")  # genitive: Dortmunds, Ruhrgebiets, 5-StandorteProgramms
    return forms


def _is_acronym(surface: str) -> bool:
    letters = [c for c in surface if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _index(surfaces: Iterable[str], fold: bool) -> dict[str, tuple[int, ...]]:
    """First token -> the token counts of the surface forms starting with it, longest first."""
    counts: dict[str, set[int]] = {}
    for surface in surfaces:
        tokens = _TOKEN.findall(surface)
        counts.setdefault(tokens[0].lower() if fold else tokens[0], set()).add(len(tokens))
    return {first: tuple(sorted(n, reverse=True)) for first, n in counts.items()}


class _Matcher:
    """All surface forms of one kind in a dict, scanned token by token (an Aho-Corasick-like walk
    that is cheap to build: no large regex to compile at load)."""

    def __init__(self, what: str, names: Iterable[tuple[str, Iterable[str], Iterable[str]]]) -> None:
        """``names``: (key, surface forms that inflect, surface forms that do not)."""
        table: dict[str, _Entry] = {}

        def add(surface: str, entry: _Entry) -> None:
            surface = " ".join(surface.split())
            known = table.setdefault(surface, entry)
            if known.key != entry.key:
                raise ConfigError(f"gazetteer {what}: {surface!r} names both {known.key!r} and {entry.key!r}")

        for key, inflecting, fixed in names:
            bases = [(s, _inflections(s)) for s in inflecting] + [(s, [s]) for s in fixed]
            for base, forms in bases:
                guard = _guard_for(base)
                entry = _Entry(key, _is_acronym(base), guard)
                for form in forms:
                    add(form, entry)
                    if guard is None and form.upper() != form:
                        add(form.upper(), entry)  # headlines
        self._table = table
        self._index = _index(table, fold=False)

    @cached_property
    def _folded(self) -> tuple[dict[str, _Entry], dict[str, tuple[int, ...]]]:
        """The case-insensitive table and index, built on first use (queries typed in lower case)."""
        table: dict[str, _Entry] = {}
        for surface, entry in self._table.items():
            table.setdefault(surface.lower(), entry)
        # Index both cuts: "EcoTecHub" is three tokens as written and one when typed "ecotechub".
        index = _index([*self._table, *table], fold=True)
        return table, index

    def find(self, text: str, *, ignore_case: bool = False) -> tuple[tuple[str, int, int], ...]:
        """(key, start, end) of each match, leftmost-longest and non-overlapping."""
        return tuple(self._walk(text, ignore_case))

    def _walk(self, text: str, ignore_case: bool) -> Iterator[tuple[str, int, int]]:
        table, index = self._folded if ignore_case else (self._table, self._index)
        spans = [m.span() for m in _TOKEN.finditer(text)]
        i = 0
        while i < len(spans):
            start = spans[i][0]
            first = text[start : spans[i][1]]
            counts = index.get(first.lower() if ignore_case else first, ())
            taken = 0
            if counts and (start == 0 or not (text[start - 1] == "-" or text[start - 1].isalnum())):
                for count in counts:
                    if i + count > len(spans):
                        continue
                    end = spans[i + count - 1][1]
                    surface = " ".join(text[start:end].split())
                    entry = table.get(surface.lower() if ignore_case else surface)
                    if entry is not None and self._accept(entry, text, start, end, ignore_case=ignore_case):
                        yield entry.key, start, end
                        taken = count
                        break
            i += taken or 1

    def remembering(self) -> _Matcher:
        """This matcher, remembering each text's matches for as long as the copy lives (``Gazetteer.remembering``)."""
        view = copy.copy(self)
        found: dict[tuple[str, bool], tuple[tuple[str, int, int], ...]] = {}

        def find(text: str, *, ignore_case: bool = False) -> tuple[tuple[str, int, int], ...]:
            key = (text, ignore_case)
            if key not in found:
                found[key] = self.find(text, ignore_case=ignore_case)
            return found[key]

        view.find = find  # type: ignore[method-assign]
        return view

    def _accept(self, entry: _Entry, text: str, start: int, end: int, *, ignore_case: bool) -> bool:
        # Right edge: no letter or digit follows, except across a camel-case hump ("BergkamenHeil").
        if end < len(text) and text[end].isalnum() and not (text[end - 1].islower() and text[end].isupper()):
            return False
        if ignore_case and entry.exact_case and " ".join(text[start:end].split()) not in self._table:
            return False
        return entry.guard is None or _guard_allows(entry.guard, text, start, end, ignore_case=ignore_case)


def _guard_allows(guard: _Guard, text: str, start: int, end: int, *, ignore_case: bool) -> bool:
    before = _PREVIOUS_WORD.search(text, max(0, start - 60), start)
    previous = before.group(1) if before else ""
    if previous.lower() in guard.not_after:
        return False
    if guard.not_after_adjective and len(previous) > 3 and previous[0].isupper() and previous.endswith("er"):
        return False
    if guard.attributive:
        after = _NEXT_WORD.match(text, end)
        return after is not None and (ignore_case or after.group(1).isupper())
    return True


class Gazetteer:
    """Places with their hierarchy, programs and organisations, and a matcher for each.

    Build it with ``load_gazetteer``; it is immutable after construction. ``places`` maps each key
    (AGS or region key) to its ``Place``; ``regions`` maps each region key to its members.
    """

    def __init__(
        self,
        places: Iterable[Place],
        regions: Mapping[str, Iterable[str]],
        programs: Iterable[Program],
        organisations: Iterable[Organisation],
    ) -> None:
        by_key: dict[str, Place] = {}
        for place in places:
            if place.ags in by_key:
                raise ConfigError(f"gazetteer: place key {place.ags} occurs twice")
            by_key[place.ags] = place
        self.places: Mapping[str, Place] = MappingProxyType(by_key)
        self.regions: Mapping[str, tuple[str, ...]] = MappingProxyType(
            {key: tuple(members) for key, members in regions.items()}
        )
        _validate_hierarchy(self.places, self.regions)
        self.programs: Mapping[str, Program] = MappingProxyType(_by_name("program", programs, PROGRAM_KINDS))
        for program in self.programs.values():
            unknown = [key for key in program.area if key not in self.places]
            if unknown:
                raise ConfigError(f"gazetteer: program {program.name!r} has unknown area key(s) {', '.join(unknown)}")
        self.organisations: Mapping[str, Organisation] = MappingProxyType(
            _by_name("organisation", organisations, ORGANISATION_KINDS)
        )
        # Kreise, kreisfreie Städte and Gemeinden: the places a facet counts (not the Land or a region,
        # which would match every document)
        self.local_keys: frozenset[str] = frozenset(
            key for key, place in self.places.items() if place.kind in ("kreis", "kreisfreie_stadt", "gemeinde")
        )

        children: dict[str, list[str]] = {}
        regions_of: dict[str, list[str]] = {}
        for place in self.places.values():
            if place.parent_ags is not None and place.kind != "region":
                children.setdefault(place.parent_ags, []).append(place.ags)
        for region, members in self.regions.items():
            children.setdefault(region, []).extend(members)
            for member in members:
                regions_of.setdefault(member, []).append(region)
        self._children = children
        self._up = {key: self._chain_up(key, regions_of) for key in self.places}

        self._place_matcher = _Matcher(
            "places", ((p.ags, (p.name, *p.aliases), p.adjectives) for p in self.places.values())
        )
        self._program_matcher = _Matcher(
            "programs", ((p.name, (p.name, *p.aliases), ()) for p in self.programs.values())
        )
        self._organisation_matcher = _Matcher(
            "organisations", ((o.name, (o.name, *o.aliases), ()) for o in self.organisations.values())
        )

    def _chain_up(self, key: str, regions_of: Mapping[str, list[str]]) -> tuple[str, ...]:
        """The key, its parents up to the Land, then the regions any of them belongs to."""
        out: list[str] = []
        pending = [key]
        while pending:
            current: str | None = pending.pop(0)
            while current is not None and current not in out:
                out.append(current)
                pending.extend(regions_of.get(current, ()))
                current = self.places[current].parent_ags
        return tuple(out)

    # --- hierarchy

    def expand_up(self, ags: str) -> tuple[str, ...]:
        """``ags`` itself, its parents, then its regions: Bergkamen -> (05978004, 05978, 059, 05, ruhr).

        These are the keys a passage about the place carries, so a filter on any one of them finds it.
        Raises KeyError for an unknown key.
        """
        return self._up[ags]

    def expand_down(self, ags: str) -> tuple[str, ...]:
        """Every place below ``ags`` (not itself), sorted by key: Kreis Unna -> its ten Gemeinden."""
        if ags not in self.places:
            raise KeyError(ags)
        out: set[str] = set()
        pending = list(self._children.get(ags, ()))
        while pending:
            key = pending.pop()
            if key not in out:
                out.add(key)
                pending.extend(self._children.get(key, ()))
        return tuple(sorted(out))

    def place_filter_keys(self, ags: str) -> tuple[str, ...]:
        """The ``place_keys`` values a search filter for ``ags`` must match.

        Passages carry their places' keys expanded upwards (``expand_up``), so a passage about
        Bergkamen already holds Kreis Unna's key: the filter is the place's own key. Raises
        QueryError for an unknown key.
        """
        if ags not in self.places:
            raise QueryError(f"Unbekannter Ortsschlüssel: {ags!r}")
        return (ags,)

    # --- matching

    def remembering(self) -> Gazetteer:
        """A view of this gazetteer that scans each text once for as long as it lives: one request's reading
        (a direct answer reads a sentence for places and programmes several times: for itself, for the clause
        around each value, for its section; half the scans of a question were repeats). Nothing outlives the
        view, so a new question is timed and answered as a first one."""
        view = copy.copy(self)
        view._place_matcher = self._place_matcher.remembering()
        view._program_matcher = self._program_matcher.remembering()
        view._organisation_matcher = self._organisation_matcher.remembering()
        return view

    def find_places(self, text: str, *, ignore_case: bool = False) -> list[PlaceMention]:
        """Places named in ``text``, in order. ``ignore_case=True`` suits typed queries."""
        return [
            PlaceMention(key, self.places[key].name, start, end)
            for key, start, end in self._place_matcher.find(text, ignore_case=ignore_case)
        ]

    def find_programs(self, text: str, *, ignore_case: bool = False) -> list[Mention]:
        """Funding programs and initiatives named in ``text``, by canonical name, in order."""
        return [Mention(*found) for found in self._program_matcher.find(text, ignore_case=ignore_case)]

    def find_organisations(self, text: str, *, ignore_case: bool = False) -> list[Mention]:
        """Organisations named in ``text``, by canonical name, in order."""
        return [Mention(*found) for found in self._organisation_matcher.find(text, ignore_case=ignore_case)]


_Named = TypeVar("_Named", Program, Organisation)


def _by_name(what: str, items: Iterable[_Named], kinds: tuple[str, ...]) -> dict[str, _Named]:
    out: dict[str, _Named] = {}
    for item in items:
        if item.kind not in kinds:
            raise ConfigError(f"gazetteer: {what} {item.name!r} has unknown kind {item.kind!r} ({', '.join(kinds)})")
        if out.setdefault(item.name, item) is not item:
            raise ConfigError(f"gazetteer: {what} {item.name!r} occurs twice")
    return out


def _validate_hierarchy(places: Mapping[str, Place], regions: Mapping[str, tuple[str, ...]]) -> None:
    for place in places.values():
        if place.kind not in PLACE_KINDS:
            raise ConfigError(f"gazetteer: {place.ags} has unknown kind {place.kind!r}")
        if place.kind == "region":
            if not _REGION_KEY.fullmatch(place.ags) or place.ags not in regions:
                raise ConfigError(f"gazetteer: region {place.ags!r} needs a lower-case key and members")
        elif not (place.ags.isdigit() and len(place.ags) == _KEY_DIGITS[place.kind]):
            raise ConfigError(f"gazetteer: {place.ags} is no {_KEY_DIGITS[place.kind]}-digit key of a {place.kind}")
        if place.parent_ags is None:
            if place.kind != "land":
                raise ConfigError(f"gazetteer: {place.ags} ({place.kind}) has no parent")
            continue
        parent = places.get(place.parent_ags)
        if parent is None:
            raise ConfigError(f"gazetteer: parent {place.parent_ags} of {place.ags} is unknown")
        if parent.kind != _PARENT_KIND[place.kind]:
            raise ConfigError(
                f"gazetteer: parent {parent.ags} of {place.ags} is a {parent.kind}, not a {_PARENT_KIND[place.kind]}"
            )
        if place.kind != "region" and not place.ags.startswith(parent.ags):
            raise ConfigError(f"gazetteer: {place.ags} does not start with its parent's key {parent.ags}")
    for region, members in regions.items():
        if region not in places:
            raise ConfigError(f"gazetteer: region {region!r} has members but no place row")
        for member in members:
            if member not in places:
                raise ConfigError(f"gazetteer: member {member} of region {region} is unknown")


# --- loading


def load_gazetteer(path: Path | None = None) -> Gazetteer:
    """Read ``places.csv``, ``regions.csv``, ``programs.csv`` and ``organisations.csv`` from ``path``
    (default: ``<project>/corpus/gazetteer``). Raises ConfigError for a missing file or a bad row."""
    root = path if path is not None else DEFAULT_GAZETTEER_DIR
    places = [
        Place(
            ags=row["ags"],
            name=row["name"],
            kind=row["kind"],
            parent_ags=row["parent_ags"] or None,
            aliases=_split(row["aliases"]),
            adjectives=_split(row.get("adjectives", "")),
        )
        for row in _read_csv(root / "places.csv", ("ags", "name", "kind", "parent_ags", "aliases"))
    ]
    regions: dict[str, tuple[str, ...]] = {}
    for row in _read_csv(root / "regions.csv", ("key", "name", "parent_ags", "aliases", "members")):
        places.append(Place(row["key"], row["name"], "region", row["parent_ags"] or None, _split(row["aliases"])))
        regions[row["key"]] = _split(row["members"])
    programs = [
        Program(row["name"], _split(row["aliases"]), row["kind"], row["description"], _split(row.get("area", "")))
        for row in _read_csv(root / "programs.csv", ("name", "aliases", "kind", "description"))
    ]
    organisations = [
        Organisation(row["name"], _split(row["aliases"]), row["kind"])
        for row in _read_csv(root / "organisations.csv", ("name", "aliases", "kind"))
    ]
    return Gazetteer(places, regions, programs, organisations)


def _split(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split("|") if part.strip())


def _read_csv(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in columns if c not in (reader.fieldnames or ())]
            if missing:
                raise ConfigError(f"{path}: missing column(s) {', '.join(missing)}")
            rows = []
            for row in reader:
                if None in row or any(value is None for value in row.values()):
                    raise ConfigError(f"{path}, line {reader.line_num}: wrong number of fields")
                if not all(row[c].strip() for c in columns if c in ("ags", "key", "name", "kind")):
                    raise ConfigError(f"{path}, line {reader.line_num}: empty key, name or kind")
                rows.append({k: v.strip() for k, v in row.items()})
            return rows
    except OSError as err:
        raise ConfigError(f"cannot read gazetteer file {path}: {err}") from err
