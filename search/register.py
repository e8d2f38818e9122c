"""The register: funding facts of all documents, and their project mentions linked into projects.

``build_register(rows, gazetteer)`` reads the per-document rows the registry keeps (``core.facts``)
and links mentions of the same project across documents:

* two mentions are the same project when their names share their content words (one name's words
  contain the other's, or they share at least half of them: "EcoTecHub" / "Vorstudie EcoTecHub
  Bergkamen" / "EcoTecHub-Vorstudie") **and** their places agree (a shared Gemeinde or Kreis, one
  inside the other; a name without places needs a word that is no generic project word);
* or when both carry the same precise amount (three significant digits, "1,08 Mio.") of the same
  kind at agreeing places.

Different projects of the same document or place stay apart because their names differ. A project's
id is derived from the name key most of its mentions share, so it survives re-crawls that add or
remove other mentions. ``FactQuery``/``ProjectQuery`` filter with the place hierarchy (a Kreis includes
its Gemeinden) and canonical program names; ``sums`` adds amounts per place and per program without
counting an amount twice that several documents repeat.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from core.analysis import transliterate
from core.facts import (
    GENERIC_TOKENS,
    DocIntel,
    Fact,
    FactKind,
    PlaceRef,
    ProjectMention,
    ProjectStatus,
    Span,
    intel_from_json,
    name_tokens,
)
from core.gazetteer import Gazetteer
from core.registry import IntelRow


@dataclass(frozen=True)
class Citation:
    doc_id: str
    source: str
    url: str | None
    title: str | None
    page: int | None
    char_start: int
    char_end: int
    quote: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "source": self.source,
            "url": self.url,
            "title": self.title,
            "page": self.page,
            "char_start": self.char_start,
            "char_end": self.char_end,
            "quote": self.quote,
        }


@dataclass(frozen=True)
class RegisterFact:
    fact: Fact
    citation: Citation
    project_id: str | None
    doc_date: str | None

    def to_dict(self) -> dict[str, Any]:
        f = self.fact
        return {
            "fact_id": f.fact_id,
            "eur": f.eur,
            "amount_text": f.amount_text,
            "kind": f.kind.value,
            "purpose": f.purpose,
            "project_id": self.project_id,
            "project": f.project,
            "places": [{"name": p.name, "ags": p.ags} for p in f.places],
            "programs": list(f.programs),
            "funder": f.funder,
            "date": f.date,
            "doc_date": self.doc_date,
            "amount_start": f.amount_start,
            "amount_end": f.amount_end,
            "citation": self.citation.to_dict(),
        }


@dataclass(frozen=True)
class MentionRef:
    doc_id: str
    source: str
    title: str | None
    date: str | None
    page: int | None
    char_start: int
    char_end: int
    name: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "source": self.source,
            "title": self.title,
            "date": self.date,
            "page": self.page,
            "char_start": self.char_start,
            "char_end": self.char_end,
            "name": self.name,
        }


@dataclass(frozen=True)
class TimelineEntry:
    date: str
    what: str
    citation: Citation


@dataclass(frozen=True)
class Project:
    project_id: str
    name: str
    aliases: tuple[str, ...]
    places: tuple[PlaceRef, ...]
    programs: tuple[str, ...]
    organisations: tuple[str, ...]
    facts: tuple[RegisterFact, ...]
    status: ProjectStatus | None
    mentions: tuple[MentionRef, ...]
    timeline: tuple[TimelineEntry, ...]

    def to_dict(self, with_facts: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "project_id": self.project_id,
            "name": self.name,
            "aliases": list(self.aliases),
            "places": [{"name": p.name, "ags": p.ags} for p in self.places],
            "programs": list(self.programs),
            "organisations": list(self.organisations),
            "amounts": [{"eur": f.fact.eur, "kind": f.fact.kind.value, "fact_id": f.fact.fact_id} for f in self.facts],
            "status": self.status.value if self.status else None,
            "mentions": [m.to_dict() for m in self.mentions],
            "timeline": [{"date": t.date, "what": t.what, "citation": t.citation.to_dict()} for t in self.timeline],
        }
        if with_facts:
            out["facts"] = [f.to_dict() for f in self.facts]
        return out


@dataclass
class Register:
    facts: list[RegisterFact]
    projects: list[Project]
    by_id: dict[str, Project] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {p.project_id: p for p in self.projects}


# --- building


@dataclass
class _M:
    mention: ProjectMention
    row: IntelRow
    tokens: frozenset[str]
    keys: frozenset[str]  # local place keys (Kreis, kreisfreie Stadt, Gemeinde)
    facts: list[Fact]


def _citation(row: IntelRow, span: Span) -> Citation:
    return Citation(row.doc_id, row.source, row.url, row.title, span.page, span.char_start, span.char_end, span.quote)


def _places_agree(a: frozenset[str], b: frozenset[str], gazetteer: Gazetteer) -> bool | None:
    """True/False when both have local places (one inside or equal to the other counts), None otherwise."""
    if not a or not b:
        return None
    for x in a:
        up_x = gazetteer.expand_up(x)
        for y in b:
            if x == y or y in up_x or x in gazetteer.expand_up(y):
                return True
    return False


def _same_name(m: _M, n: _M, gazetteer: Gazetteer) -> bool:
    if not m.tokens or not n.tokens:
        return False
    shared = m.tokens & n.tokens
    if not shared:
        return False
    contained = shared == m.tokens or shared == n.tokens
    if not contained and len(shared) * 2 < len(m.tokens | n.tokens):
        return False
    agree = _places_agree(m.keys, n.keys, gazetteer)
    if agree is False:
        return False
    if agree is None:
        return bool(shared - GENERIC_TOKENS)
    return True


def _precise(eur: float) -> bool:
    digits = f"{eur:.0f}".rstrip("0")
    return len(digits) >= 3


def _same_amount(m: _M, n: _M, gazetteer: Gazetteer) -> bool:
    if _places_agree(m.keys, n.keys, gazetteer) is not True:
        return False
    mine = {(f.eur, f.kind) for f in m.facts if f.kind in (FactKind.FUNDING, FactKind.COST) and _precise(f.eur)}
    return any((f.eur, f.kind) in mine for f in n.facts)


class ParsedRows:
    """The rows a register was last built from, parsed, by document (``DocIntel`` is frozen, so a rebuild may
    reuse them): a rebuild parses only the rows that changed (at 12,500 documents with the sample corpus's
    4.8 KB of rows each, a rebuild took 4.0-4.8 s, 2.3-2.4 s with the rows kept). Not for use by two builds
    at once."""

    def __init__(self) -> None:
        self._by_doc: dict[str, tuple[int, int, DocIntel]] = {}  # doc id -> (length, hash of the row, parsed)
        self.parsed = 0  # rows parsed by the last build (the rest were reused)

    def read(self, rows: Sequence[IntelRow]) -> list[DocIntel]:
        kept: dict[str, tuple[int, int, DocIntel]] = {}
        out = []
        self.parsed = 0
        for row in rows:
            key = (len(row.data), hash(row.data))
            held = self._by_doc.get(row.doc_id)
            if held is not None and held[:2] == key:
                intel = held[2]
            else:
                intel = intel_from_json(row.data)
                self.parsed += 1
            kept[row.doc_id] = (*key, intel)
            out.append(intel)
        self._by_doc = kept  # documents no longer in the rows are forgotten
        return out


def build_register(rows: Sequence[IntelRow], gazetteer: Gazetteer, parsed: ParsedRows | None = None) -> Register:
    """Facts with citations, and mentions linked into projects (see the module docstring). ``parsed``: the
    rows of the last build, so that only changed rows are parsed again."""
    ms: list[_M] = []
    name_cache: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    facts_of_doc: dict[str, list[tuple[Fact, IntelRow]]] = defaultdict(list)
    intels = parsed.read(rows) if parsed is not None else [intel_from_json(row.data) for row in rows]
    for row, intel in zip(rows, intels, strict=True):
        by_name: dict[str, list[Fact]] = defaultdict(list)
        for fact in intel.facts:
            facts_of_doc[row.doc_id].append((fact, row))
            if fact.project:
                by_name[fact.project].append(fact)
        for mention in intel.mentions:
            if mention.name not in name_cache:
                name_cache[mention.name] = name_tokens(mention.name, gazetteer)
            tokens, keys = name_cache[mention.name]
            local = {p.ags for p in mention.places if p.ags in gazetteer.local_keys} | {
                k for k in keys if k in gazetteer.local_keys
            }
            ms.append(_M(mention, row, tokens, frozenset(local), by_name.get(mention.name, [])))

    parent = list(range(len(ms)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    # Mentions with the same words and places are one project (when such a name may stand alone):
    # link them first, then compare one representative per distinct name, so the work grows with
    # the number of distinct names, not with how often a project is mentioned.
    by_signature: dict[tuple[frozenset[str], frozenset[str]], list[int]] = defaultdict(list)
    for i, m in enumerate(ms):
        by_signature[(m.tokens, m.keys)].append(i)
    reps: list[int] = []
    for same in by_signature.values():
        first = same[0]
        if _same_name(ms[first], ms[first], gazetteer):
            for j in same[1:]:
                union(first, j)
        reps.append(first)
    by_token: dict[str, list[int]] = defaultdict(list)
    for i in reps:
        for t in ms[i].tokens:
            by_token[t].append(i)
    for bucket in by_token.values():
        for x, i in enumerate(bucket):
            for j in bucket[x + 1 :]:
                if find(i) != find(j) and _same_name(ms[i], ms[j], gazetteer):
                    union(i, j)
    by_amount: dict[float, list[int]] = defaultdict(list)
    for i, m in enumerate(ms):
        for eur in {f.eur for f in m.facts if f.kind in (FactKind.FUNDING, FactKind.COST) and _precise(f.eur)}:
            by_amount[eur].append(i)
    for bucket in by_amount.values():
        roots: dict[int, int] = {}  # one mention per project already in the bucket
        for i in bucket:
            for j in list(roots.values()):
                if find(i) != find(j) and _same_amount(ms[i], ms[j], gazetteer):
                    union(i, j)
            roots.setdefault(find(i), i)

    groups: dict[int, list[_M]] = defaultdict(list)
    for i, m in enumerate(ms):
        groups[find(i)].append(m)

    projects: list[Project] = []
    project_of: dict[tuple[str, str], str] = {}
    for members in groups.values():
        project = _project(members, gazetteer)
        projects.append(project)
        for m in members:
            project_of[(m.row.doc_id, m.mention.name)] = project.project_id

    facts: list[RegisterFact] = []
    facts_of_project: dict[str, list[RegisterFact]] = defaultdict(list)
    for doc_facts in facts_of_doc.values():
        for fact, row in doc_facts:
            pid = project_of.get((row.doc_id, fact.project)) if fact.project else None
            rf = RegisterFact(fact, _citation(row, fact.span), pid, row.date)
            facts.append(rf)
            if pid:
                facts_of_project[pid].append(rf)
    facts = _attach_by_amount(facts, facts_of_project, gazetteer)
    projects = [_with_facts(p, facts_of_project.get(p.project_id, [])) for p in projects]
    projects.sort(key=lambda p: (p.name.lower(), p.project_id))
    return Register(facts=facts, projects=projects)


# a sum over several projects or a table of sums: no single project's amount
_AGGREGATE = re.compile(
    r"(?i)\bzusammen\b|\binsgesamt\b|\bSumme\b|\bProjekte\b|\bVorhaben\b.*\bmit\b"
    r"|\s\d+\s+\d+\s+[\d,]+\s*Mio"  # a table row of counts and a sum: "Herne 6 4 27,9 Mio. €"
)


def _attach_by_amount(
    facts: list[RegisterFact], facts_of_project: dict[str, list[RegisterFact]], gazetteer: Gazetteer
) -> list[RegisterFact]:
    """A fact whose sentence names no project ("Die Gesamtkosten liegen bei rund 3,9 Mio. Euro") belongs
    to the project that states the same amount of the same kind at the same town elsewhere, when exactly
    one project does. (Program-wide amounts, budgets and other kinds stay without a project.)"""
    owners: dict[tuple[float, FactKind], set[str]] = defaultdict(set)
    where: dict[str, frozenset[str]] = {}
    for pid, project_facts in facts_of_project.items():
        keys = {p.ags for f in project_facts for p in f.fact.places if p.ags in gazetteer.local_keys}
        where[pid] = frozenset(keys)
        for f in project_facts:
            if f.fact.kind in (FactKind.FUNDING, FactKind.COST) and not _AGGREGATE.search(f.citation.quote):
                owners[(round(f.fact.eur, 2), f.fact.kind)].add(pid)
    out = []
    for f in facts:
        if (
            f.project_id is None
            and f.fact.kind in (FactKind.FUNDING, FactKind.COST)
            and not _AGGREGATE.search(f.citation.quote)
        ):
            here = frozenset(p.ags for p in f.fact.places if p.ags in gazetteer.local_keys)
            candidates = [
                pid
                for pid in owners.get((round(f.fact.eur, 2), f.fact.kind), ())
                if _places_agree(here, where[pid], gazetteer) is True
            ]
            if len(candidates) == 1:
                f = replace(f, project_id=candidates[0])
                facts_of_project[candidates[0]].append(f)
        out.append(f)
    return out


def _with_facts(p: Project, facts: list[RegisterFact]) -> Project:
    facts = sorted(facts, key=lambda f: (f.doc_date or "", f.citation.source, f.fact.amount_start))
    return Project(
        p.project_id, p.name, p.aliases, p.places, p.programs, p.organisations, tuple(facts), p.status, p.mentions,
        p.timeline,
    )  # fmt: skip


def _project(members: list[_M], gazetteer: Gazetteer) -> Project:
    members = sorted(members, key=lambda m: (m.row.date or "", m.row.source, m.mention.span.char_start))
    key_counts = Counter(" ".join(sorted(m.tokens)) for m in members if m.tokens)
    rep = min(key_counts, key=lambda k: (-key_counts[k], len(k), k)) if key_counts else members[0].mention.name
    places_of = sorted({k for m in members for k in m.keys})
    project_id = "p-" + hashlib.sha1(f"{rep}@{places_of[0] if places_of else ''}".encode()).hexdigest()[:10]
    names = Counter(m.mention.name for m in members)
    name = min(
        names, key=lambda n: (-names[n], not any(m.mention.main and m.mention.name == n for m in members), len(n))
    )
    places: dict[str, PlaceRef] = {}
    for m in members:
        for p in m.mention.places:
            places.setdefault(p.ags, p)
    keys = set(places)
    specific = [
        p
        for p in places.values()
        if not any(k != p.ags and p.ags in gazetteer.expand_up(k) for k in keys if k in gazetteer.places)
    ]
    status = None
    for m in members:  # documents in date order: the latest stated status wins
        if m.mention.status is not None:
            status = m.mention.status
    timeline: dict[tuple[str, str], TimelineEntry] = {}
    for m in members:
        for e in m.mention.events:
            timeline.setdefault((e.date, e.what), TimelineEntry(e.date, e.what, _citation(m.row, e.span)))
    return Project(
        project_id=project_id,
        name=name,
        aliases=tuple(n for n in names if n != name),
        places=tuple(specific),
        programs=tuple(dict.fromkeys(p for m in members for p in m.mention.programs)),
        organisations=tuple(dict.fromkeys(o for m in members for o in m.mention.organisations)),
        facts=(),
        status=status,
        mentions=tuple(
            MentionRef(
                m.row.doc_id,
                m.row.source,
                m.row.title,
                m.row.date,
                m.mention.span.page,
                m.mention.span.char_start,
                m.mention.span.char_end,
                m.mention.name,
            )
            for m in members
        ),
        timeline=_timeline(timeline.values()),
    )


def _timeline(entries: Iterable[TimelineEntry]) -> tuple[TimelineEntry, ...]:
    """Events in date order; an event also given more precisely ("2023-12" and "2023-12-01", both a
    start) is listed once, at the more precise date."""
    entries = list(entries)
    kept = [
        e
        for e in entries
        if not any(o.what == e.what and o.date != e.date and o.date.startswith(e.date) for o in entries)
    ]
    return tuple(sorted(kept, key=lambda t: (t.date, t.citation.source)))


# --- filters and sums


@dataclass(frozen=True)
class RegisterQuery:
    """Filters of ``facts``/``projects``: place keys (each includes the places below it), canonical
    program names, a document id, and words that must all occur in a project's names."""

    place_keys: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    doc_id: str | None = None
    words: tuple[str, ...] = ()


def _in_places(places: Iterable[PlaceRef], wanted: tuple[str, ...], gazetteer: Gazetteer) -> bool:
    for p in places:
        up = gazetteer.expand_up(p.ags) if p.ags in gazetteer.places else (p.ags,)
        if any(w in up for w in wanted):
            return True
    return False


def select_facts(register: Register, q: RegisterQuery, gazetteer: Gazetteer) -> list[RegisterFact]:
    out = []
    for f in register.facts:
        if q.doc_id and f.fact.doc_id != q.doc_id:
            continue
        if q.place_keys and not _in_places(f.fact.places, q.place_keys, gazetteer):
            continue
        if q.programs and not set(q.programs) & set(f.fact.programs):
            continue
        out.append(f)
    return out


def _folded(text: str) -> str:
    return transliterate(text)


def select_projects(register: Register, q: RegisterQuery, gazetteer: Gazetteer) -> list[Project]:
    out = []
    for p in register.projects:
        if q.doc_id and not any(m.doc_id == q.doc_id for m in p.mentions):
            continue
        if q.place_keys and not _in_places(p.places, q.place_keys, gazetteer):
            continue
        if q.programs and not set(q.programs) & (set(p.programs) | {x for f in p.facts for x in f.fact.programs}):
            continue
        if q.words:
            hay = _folded(" ".join((p.name, *p.aliases, *(x.name for x in p.places), *p.programs, *p.organisations)))
            if not all(_folded(w) in hay for w in q.words):
                continue
        out.append(p)
    return out


def distinct_amounts(facts: Iterable[RegisterFact]) -> list[RegisterFact]:
    """One fact per distinct amount: the same kind and euros for the same project (or, without a
    project, for the same programs) counts once however many documents repeat it."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for f in facts:
        key = (f.project_id or ("-", *f.fact.programs), f.fact.kind, round(f.fact.eur, 2))
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


@dataclass(frozen=True)
class Sums:
    """Euros per place and per program (and kind), each distinct amount counted once."""

    by_place: dict[str, dict[str, float]]
    by_program: dict[str, dict[str, float]]

    def to_dict(self) -> dict[str, Any]:
        return {"by_place": self.by_place, "by_program": self.by_program}


def sums(facts: Iterable[RegisterFact], gazetteer: Gazetteer) -> Sums:
    by_place: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    by_program: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for f in distinct_amounts(facts):
        kind = f.fact.kind.value
        for name in dict.fromkeys(p.name for p in f.fact.places if p.ags in gazetteer.local_keys):
            by_place[name][kind] += f.fact.eur
        for prog in f.fact.programs:
            by_program[prog][kind] += f.fact.eur
    return Sums({k: dict(v) for k, v in sorted(by_place.items())}, {k: dict(v) for k, v in sorted(by_program.items())})


# --- the request: one resolver for the CLI, the API and the web page


def resolve_register_query(
    gazetteer: Gazetteer,
    *,
    places: Sequence[str] = (),
    programs: Sequence[str] = (),
    doc_id: str | None = None,
    query: str | None = None,
) -> RegisterQuery:
    """User parameters -> a validated ``RegisterQuery``, with the search's resolver (``search.request``):
    the same place and program rules and the same German errors as every other front end."""
    from search.request import resolve_places, resolve_programs

    resolved, _ = resolve_places(places, gazetteer)
    words = tuple(w for w in (query or "").split() if w)
    return RegisterQuery(
        place_keys=tuple(p.ags for p in resolved),
        programs=resolve_programs(programs, gazetteer),
        doc_id=doc_id or None,
        words=words,
    )


def facts_csv_rows(facts: Iterable[RegisterFact]) -> Iterable[list[str]]:
    """The facts as CSV rows (header first), for exports from the CLI and the API."""
    yield [
        "fact_id", "eur", "amount_text", "kind", "purpose", "project_id", "project", "places", "programs", "funder",
        "date", "doc_id", "source", "url", "title", "page", "char_start", "char_end", "quote",
    ]  # fmt: skip
    for f in facts:
        d = f.to_dict()
        c = d["citation"]
        yield [
            d["fact_id"], f"{d['eur']:.2f}", d["amount_text"], d["kind"], d["purpose"], d["project_id"] or "",
            d["project"] or "", "; ".join(p["name"] for p in d["places"]), "; ".join(d["programs"]),
            d["funder"] or "", d["date"] or "", c["doc_id"], c["source"], c["url"] or "", c["title"] or "",
            "" if c["page"] is None else str(c["page"]), str(c["char_start"]), str(c["char_end"]), c["quote"],
        ]  # fmt: skip


def projects_csv_rows(projects: Iterable[Project]) -> Iterable[list[str]]:
    yield ["project_id", "name", "places", "programs", "funding_eur", "cost_eur", "first_date", "last_date",
           "organisations", "status", "documents", "aliases"]  # fmt: skip
    for p in projects:
        distinct = distinct_amounts(p.facts)
        funding = sum(f.fact.eur for f in distinct if f.fact.kind is FactKind.FUNDING)
        cost = sum(f.fact.eur for f in distinct if f.fact.kind is FactKind.COST)
        yield [
            p.project_id, p.name, "; ".join(x.name for x in p.places), "; ".join(p.programs),
            f"{funding:.2f}" if funding else "", f"{cost:.2f}" if cost else "",
            p.timeline[0].date if p.timeline else "", p.timeline[-1].date if p.timeline else "",
            "; ".join(p.organisations), p.status.value if p.status else "", str(len({m.doc_id for m in p.mentions})),
            "; ".join(p.aliases),
        ]  # fmt: skip
