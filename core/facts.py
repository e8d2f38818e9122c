"""The register's values: funding facts and project mentions found in one document.

``ingest.facts`` finds them in a parsed ``Document``; the registry keeps them per document (as JSON,
replaced whenever the document is re-indexed, deleted with it); ``search.register`` links the mentions
of all documents into projects and answers filters. Everything here is a frozen value with offsets
into the document's extracted text, so every cell of the register can be cited to the character.

``INTEL_VERSION`` is the version of the extraction rules. A document whose stored register rows
carry an older version (or none: an index written before the register existed) is re-enriched from
its kept raw bytes (``ingest.intel.refresh_register``); no re-crawl and no re-embedding.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from core.analysis import transliterate
from core.gazetteer import Gazetteer

INTEL_VERSION = 1


class FactKind(enum.StrEnum):
    """What a money amount says: granted/provided funding, a cost, a program's volume, or other."""

    FUNDING = "funding"
    COST = "cost"
    BUDGET = "budget"
    OTHER = "other"


class ProjectStatus(enum.StrEnum):
    PLANNED = "planned"
    APPROVED = "approved"
    RUNNING = "running"
    COMPLETED = "completed"


@dataclass(frozen=True)
class PlaceRef:
    name: str
    ags: str


@dataclass(frozen=True)
class Span:
    """``text[char_start:char_end]`` of a document: the quoted sentence, clause or table row."""

    char_start: int
    char_end: int
    quote: str
    page: int | None = None


@dataclass(frozen=True)
class Fact:
    """One money amount tied to a project, measure or program, as stated at ``span``."""

    fact_id: str
    doc_id: str
    eur: float
    amount_text: str
    kind: FactKind
    purpose: str
    project: str | None  # the project's name as mentioned in this document (linked across documents later)
    places: tuple[PlaceRef, ...]
    programs: tuple[str, ...]
    funder: str | None
    date: str | None
    span: Span
    amount_start: int
    amount_end: int


@dataclass(frozen=True)
class Event:
    """A dated step of a project: ``what`` happened (or is planned) at ``date`` (ISO, text precision)."""

    date: str
    what: str
    span: Span


@dataclass(frozen=True)
class ProjectMention:
    """A project as one document names it: name, where, from which program, who, its dated events."""

    doc_id: str
    name: str
    span: Span
    places: tuple[PlaceRef, ...] = ()
    programs: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()
    status: ProjectStatus | None = None
    events: tuple[Event, ...] = ()
    main: bool = False  # the document is about this project (its title names it)


@dataclass(frozen=True)
class DocIntel:
    """Everything the register holds of one document."""

    doc_id: str
    facts: tuple[Fact, ...] = ()
    mentions: tuple[ProjectMention, ...] = ()
    version: int = INTEL_VERSION


# --- JSON (the registry stores one row per document)


def intel_to_json(intel: DocIntel) -> str:
    return json.dumps(asdict(intel), ensure_ascii=False)


def _span(d: dict[str, Any]) -> Span:
    return Span(int(d["char_start"]), int(d["char_end"]), str(d["quote"]), d.get("page"))


def _places(items: list[dict[str, Any]]) -> tuple[PlaceRef, ...]:
    return tuple(PlaceRef(str(p["name"]), str(p["ags"])) for p in items)


def intel_from_json(raw: str) -> DocIntel:
    d = json.loads(raw)
    facts = tuple(
        Fact(
            fact_id=f["fact_id"],
            doc_id=f["doc_id"],
            eur=float(f["eur"]),
            amount_text=f["amount_text"],
            kind=FactKind(f["kind"]),
            purpose=f["purpose"],
            project=f["project"],
            places=_places(f["places"]),
            programs=tuple(f["programs"]),
            funder=f["funder"],
            date=f["date"],
            span=_span(f["span"]),
            amount_start=int(f["amount_start"]),
            amount_end=int(f["amount_end"]),
        )
        for f in d["facts"]
    )
    mentions = tuple(
        ProjectMention(
            doc_id=m["doc_id"],
            name=m["name"],
            span=_span(m["span"]),
            places=_places(m["places"]),
            programs=tuple(m["programs"]),
            organisations=tuple(m["organisations"]),
            status=ProjectStatus(m["status"]) if m["status"] else None,
            events=tuple(Event(e["date"], e["what"], _span(e["span"])) for e in m["events"]),
            main=bool(m["main"]),
        )
        for m in d["mentions"]
    )
    return DocIntel(doc_id=d["doc_id"], facts=facts, mentions=mentions, version=int(d["version"]))


# --- project names: what two mentions must share to be the same project (see search.register)

_KEY_STOP = frozenset(
    "der die das den dem des ein eine einer eines und in im am an zum zur für von vom mit aus auf bei "
    "projekt vorhaben neue neuen neues sechs zwei drei vier fünf regionales regionale regionaler "
    "planung vorbereitung erschließung ha the of and".split()
)


def _fold(word: str) -> str:
    word = transliterate(word)
    for suffix in ("ungen", "en", "es", "er", "e", "s", "n"):
        if len(word) > 5 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


# Head nouns of project names ("…zentrum", "…campus", "Mobilstationen"): a name made of one of them
# alone ("Zentrum", "Lückenschluss") does not say which project it is.
HEAD_WORDS = (
    "campus", "zentrum", "zentren", "hub", "park", "studie", "studien", "stationen", "station", "büro", "technikum",
    "verbund", "fläche", "flächen", "flächenpool", "pool", "quartier", "wärme", "verbindung", "lückenschluss",
    "lückenschlüsse", "ladepunkte", "werkstatt", "labor", "netz", "anlage", "halle", "projekt", "werk", "hafen",
    "kompetenzzentrum", "schule", "akademie", "plattform", "radweg", "trasse", "speicher", "elektrolyseur",
    "kraftwerk", "wärmepumpe", "gelände", "gebiet", "gewerbegebiet", "industriegebiet",
)  # fmt: skip
_COORDINATED = re.compile(r"([\wÄÖÜäöüß]+)-\s+(?:und|oder|&|bzw\.)\s+([\wÄÖÜäöüß]+)")


def _expand_coordination(text: str) -> str:
    """ "Gründungs- und Innovationszentrum" -> "Gründungszentrum und Innovationszentrum" (the shared head
    noun of a German coordinated compound), so that it shares a word with "Gründungszentrum Kamen"."""

    def expand(m: re.Match[str]) -> str:
        second = m.group(2)
        heads = [h for h in HEAD_WORDS if second.lower().endswith(h) and len(second) > len(h)]
        if not heads:
            return m.group(0)
        head = max(heads, key=len)
        return f"{m.group(1)}{second[-len(head) :].lower()} und {second}"

    return _COORDINATED.sub(expand, text)


def name_tokens(name: str, gazetteer: Gazetteer) -> tuple[frozenset[str], frozenset[str]]:
    """Content tokens of a project name (folded, without places and filler) and its place keys."""
    places = gazetteer.find_places(name)
    keys = frozenset(p.ags for p in places)
    rest = name
    for p in sorted(places, key=lambda p: -p.start):
        rest = rest[: p.start] + " " + rest[p.end :]
    words = re.findall(r"[\wÄÖÜäöüß]+", _expand_coordination(rest))
    tokens = frozenset(_fold(w) for w in words if w.lower() not in _KEY_STOP and not w.isdigit())
    return tokens, keys


GENERIC_TOKENS = frozenset(_fold(h) for h in HEAD_WORDS) | frozenset(
    _fold(w) for w in "Vorstudie Machbarkeitsstudie Transformation Erschließung Umbau Ausbau Neubau Entwicklung".split()
)


def local_key(name: str, gazetteer: Gazetteer) -> str:
    tokens, keys = name_tokens(name, gazetteer)
    return " ".join(sorted(tokens)) + "@" + ",".join(sorted(keys))
