"""Funding facts and project mentions from one German document: pure rules, no I/O.

``extract_intel(doc, gazetteer)`` reads the document's extracted text in segments (sentences, list
items, table rows) and returns a ``core.facts.DocIntel``:

* **Facts.** Every money amount (``ingest.enrich.find_amounts``; in a segment that already has one,
  also a number with a scale word and no currency, "davon 30 Millionen aus Bundesmitteln") that is
  tied to funding, a cost, a budget, a program or a project. Its kind comes from the nearest cue word
  in its own part of the segment (the text up to the neighbouring amounts): "gefördert", "erhält",
  "fließen" -> funding; "kostet", "Gesamtkosten", "Investition" -> cost; "stehen … zur Verfügung",
  "Aufruf", "Programmvolumen" -> budget (a program's money, no project). Amounts next to "Eintritt",
  "Gebühr", "Gehalt", "Preis" … are no facts. In a table row the column header decides the kind.
* **Project mentions.** Names of concrete undertakings: quoted names („H2-Campus Gelsenkirchen“),
  the gazetteer's entries of kind ``projekt``, and noun phrases headed by a project word (…zentrum,
  …campus, …studie, …park, Mobilstationen, Radverbindung …) with the places and names that follow;
  the first cell of a table row. The title's project is the document's main project; anaphors ("das
  Vorhaben", "die Studie") and facts without a name of their own in a project document belong to it.
* **Events.** A date in a segment of a project (``find_dates``, and "am 20. März" with the year of the
  same document) together with a cue ("Förderbescheid", "eröffnet", "Workshop", "abgeschlossen") is a
  dated event of that project; the latest cue gives the status.

Linking the mentions of many documents into projects is ``search.register``'s job.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from core.facts import (
    HEAD_WORDS,
    DocIntel,
    Event,
    Fact,
    FactKind,
    PlaceRef,
    ProjectMention,
    ProjectStatus,
    Span,
    local_key,
    name_tokens,
)
from core.gazetteer import Gazetteer
from core.models import Document
from ingest.enrich import AmountSpan, find_amounts, find_dates

# --- segments


@dataclass(frozen=True)
class Segment:
    """``text[start:end]``: a sentence, a list item or a table row (``cells`` are (start, end) spans)."""

    start: int
    end: int
    cells: tuple[tuple[int, int], ...] = ()
    header: tuple[str, ...] = ()
    block: int = 0  # segments of one paragraph (or one table row) share it


_ABBREVIATIONS = frozenset(
    "mio mrd tsd ca rd bzw z b u a d h vgl nr abs art dr prof str st inkl ggf evtl usw etc gem max min "
    "jan feb mär apr jun jul aug sep sept okt nov dez mill bspw sog zzgl tel fa hrsg ff".split()
)
_BULLET = re.compile(r"\s*(?:[•·▪◦*\-–]\s|[a-z]\)\s|\d{1,2}[.)]\s|TOP\s)")
_SENTENCE_END = re.compile(r"[.!?…](?=[\s\"“”'»«)]*\s+[\"„»(]?[A-ZÄÖÜ0-9])")


def _abbreviation_end(line: str) -> bool:
    """The line ends with an abbreviation's period ("14,6 Mio.", "Abs."), not a sentence's."""
    m = re.search(r"([\wÄÖÜäöüß]+)\.$", line)
    return m is not None and m.group(1).lower() in _ABBREVIATIONS


def _lines(text: str) -> list[tuple[int, int]]:
    out, pos = [], 0
    for line in text.split("\n"):
        out.append((pos, pos + len(line)))
        pos += len(line) + 1
    return out


def segments(text: str) -> list[Segment]:
    """Sentences, list items and table rows of ``text``, in order, each as a span of it.

    A line break ends a segment when the line ends a sentence, is short (a heading, a list line), or
    the next line starts a list item; otherwise it is a soft wrap (PDF text). A line with ``" | "``
    between cells is a table row; the row before the first one with an amount is its header.
    """
    lines = _lines(text)
    blocks: list[tuple[int, int]] = []
    block_start: int | None = None
    widths = sorted(e - s for s, e in lines if e > s)
    wide = widths[int(len(widths) * 0.75)] if widths else 0
    for i, (s, e) in enumerate(lines):
        line = text[s:e]
        if not line.strip():
            if block_start is not None:
                blocks.append((block_start, lines[i - 1][1]))
                block_start = None
            continue
        if " | " in line:
            if block_start is not None:
                blocks.append((block_start, lines[i - 1][1]))
                block_start = None
            blocks.append((s, e))
            continue
        if block_start is None:
            block_start = s
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        stripped = line.rstrip()
        soft = (
            nxt is not None
            and text[nxt[0] : nxt[1]].strip() != ""
            and " | " not in text[nxt[0] : nxt[1]]
            and not _BULLET.match(text[nxt[0] : nxt[1]])
            and (not stripped.endswith((".", ":", "!", "?", ";")) or _abbreviation_end(stripped))
            and len(stripped) >= 0.6 * wide
        )
        if not soft:
            blocks.append((block_start, e))
            block_start = None
    if block_start is not None:
        blocks.append((block_start, lines[-1][1]))

    out: list[Segment] = []
    header: tuple[str, ...] = ()
    for block_no, (s, e) in enumerate(blocks):
        block = text[s:e]
        if " | " in block:
            cells = _cells(text, s, e)
            words = tuple(text[a:b] for a, b in cells)
            if not find_amounts(block) and not any(re.search(r"\d", w) for w in words):
                header = words
                continue
            out.append(Segment(s, e, cells, header, block_no))
            continue
        header = ()
        start = s
        while start < e and text[start].isspace():
            start += 1
        for m in _SENTENCE_END.finditer(text, s, e):
            cut = m.end()
            word = re.search(r"([\wÄÖÜäöüß]+)$", text[start : m.start()])
            token = word.group(1) if word else ""
            ordinal = token.isdigit() and len(token) <= 2  # "3. Mai", "1. Dezember"
            if ordinal or token.lower() in _ABBREVIATIONS or len(token) == 1:
                continue
            if cut > start:
                out.append(Segment(start, cut, block=block_no))
            start = cut
            while start < e and text[start].isspace():
                start += 1
        if start < e and text[start:e].strip():
            end = e
            while end > start and text[end - 1].isspace():
                end -= 1
            out.append(Segment(start, end, block=block_no))
    return out


def _cells(text: str, s: int, e: int) -> tuple[tuple[int, int], ...]:
    cells, pos = [], s
    for part in text[s:e].split(" | "):
        a, b = pos, pos + len(part)
        pos = b + 3
        while a < b and text[a] in " |":
            a += 1
        while b > a and text[b - 1] in " |":
            b -= 1
        if a < b:
            cells.append((a, b))
    return tuple(cells)


# --- cue words

_FUNDING_CUES = (
    r"gefördert|fördert|Förder(?:ung|mittel[n]?|summe|betrag|zusage|bescheid|anteil|gelder[n]?)|"
    r"Zuschuss|Zuschüsse|Zuwendung(?:en)?|Zuwendungsbescheid|bewilligt\w*|Bewilligung|erhält|erhielt|erhalten|"
    r"fließen|fließt|flossen|trägt|tragen|übernimmt|finanziert|bezuschusst|unterstützt|Bundesmittel[n]?|"
    r"Landesmittel[n]?|EU-Mittel[n]?|JTF-Mittel[n]?|Finanzhilfen?|bereitgestellt|stellt\w*\s+\w*\s*bereit|"
    r"Fördervolumen|granted|"
    r"Mittel(?:n)?\s+aus|aus\s+dem|aus\s+der|aus\s+Mitteln|Förderung|Funding|funded|grant"
)
_COST_CUES = (
    r"kostet|kosten|Kosten|Gesamtkosten|Gesamtinvestition|Investition(?:en|svolumen)?|investiert\w*|"
    r"veranschlagt|Projektvolumen|Gesamtvolumen|Baukosten|Ausgaben|Gesamtausgaben|gesamt|cost[s]?|invest\w*"
)
_BUDGET_CUES = (
    r"zur\s+Verfügung|stehen|steht|Programmvolumen|Fördervolumen|Budget|Aufruf|Wettbewerbsaufruf|"
    r"Etat|Mittelausstattung|ausgestattet|budget|available|provides"
)
_STRONG_BUDGET = re.compile(
    r"zur\s+Verfügung|stehen\s.*\sbereit|Aufruf|Programmvolumen|Budget|Mittelausstattung|is\s+available"
)
_PROGRAM_VOLUME = re.compile(
    r"Mittel\s+(?:von|in\s+Höhe\s+von)|stehen|steht|stellt\w*\s.*bereit|bereitgestellt|zur\s+Verfügung|Volumen|"
    r"ausgestattet|provides|available"
)
_GRANTED = re.compile(r"(?i)bewillig|erhalten|erhielt|erhält|Bescheid|granted")
_OTHER_CUES = (
    r"je\s+(?:Studie|Vorhaben|Projekt|Antrag|Kommune|Standort)|pro\s+(?:Studie|Vorhaben|Projekt)|Obergrenze|"
    r"Eigenanteil|Eigenmittel"
)
_NO_FACT = re.compile(
    r"(?i:Eintritt\w*|\w*Ticket\w*|\w*Gebühr\w*|Gehalt|Gehälter|Lohn|Löhne|\w*lohn\b|"
    r"\w*[Mm]iete\b|\w*[Pp]reis(?:e|en|stufe)?\b|pro\s+Person|Kostenbeitrag|\w*[Bb]uße\w*|\w*[Bb]ußgeld\w*|\w*[Ss]trafe\w*|Spende[n]?|Honorar|Schadenersatz|Schadensersatz|Lösegeld|"
    r"Abo\b|Abonnement|Mitgliedschaft|Mitgliedsbeitrag|Porto|Versand\w*|pro\s+Monat|im\s+Monat|monatlich|"
    r"pro\s+Stunde|jeden\s+Monat|Tarif\w*|entry\s+fee|salary|price|per\s+month)"
)
# Below this, an amount is a price or a fee unless its clause says funding outright.
_SMALL_EUR = 1_000.0
_OUTRIGHT_FUNDING = re.compile(r"(?i)gefördert|Förder|Zuschuss|Zuwendung|bewilligt|Prämie|funding|grant")
_CUES = [
    (FactKind.OTHER, re.compile(_OTHER_CUES)),
    (FactKind.COST, re.compile(_COST_CUES)),
    (FactKind.FUNDING, re.compile(_FUNDING_CUES)),
    (FactKind.BUDGET, re.compile(_BUDGET_CUES)),
]
_KIND_HEADERS = [
    (FactKind.COST, re.compile(r"(?i)kosten|investition|volumen des vorhabens|cost")),
    (FactKind.FUNDING, re.compile(r"(?i)förder|zuschuss|zuwendung|bewillig|mittel|funding")),
    (FactKind.BUDGET, re.compile(r"(?i)budget|programmvolumen|volumen")),
]

# A number with a scale word and no currency, in a segment that names a currency elsewhere.
_IMPLICIT = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?)\s*(Mio\.|Millionen|Million|Mrd\.|Milliarden|Milliarde)"
    r"(?!\s*(?:Euro|EUR|€|Einwohner|Menschen|Tonnen|Fahrgäste|Besucher|Kilowattstunden|kWh|Quadratmeter|m²|"
    r"Beschäftigte|Arbeitsplätze|Nutzer|Fahrten|Kilometer|km|Liter|Bäume|t\b))"
)


def _implicit_amounts(text: str, seg: Segment, explicit: Sequence[AmountSpan]) -> list[AmountSpan]:
    if not explicit:
        return []
    out = []
    for m in _IMPLICIT.finditer(text, seg.start, seg.end):
        if any(a.start <= m.start() < a.end for a in explicit):
            continue
        value = float(m.group(1).replace(".", "").replace(",", "."))
        scale = 1_000_000_000 if m.group(2).startswith(("Mrd", "Milliard")) else 1_000_000
        out.append(AmountSpan(m.start(), m.end(), value * scale, value * scale))
    return out


def _kind(text: str, lo: int, amount: AmountSpan, hi: int) -> FactKind | None:
    """The kind named by the cue nearest to the amount inside ``text[lo:hi]``; None without a cue."""
    best: tuple[int, FactKind] | None = None
    for kind, pattern in _CUES:
        for m in pattern.finditer(text, lo, hi):
            if m.end() <= amount.start:
                distance = amount.start - m.end()
            elif m.start() >= amount.end:
                gap = m.start() - amount.end
                # "14,6 Mio. EUR Förderung": a cue right after the amount names it; further away, a cue
                # before the amount reads first
                distance = 0 if not text[amount.end : m.start()].strip() else gap + 8
            else:
                continue
            if kind is FactKind.OTHER:
                distance = max(0, distance - 40)  # "je Studie" after the amount decides it
            if best is None or distance < best[0]:
                best = (distance, kind)
    return best[1] if best else None


# --- projects

_HEADS = "|".join(sorted(HEAD_WORDS, key=len, reverse=True))
_HEAD_WORD = re.compile(rf"\b(?=[A-ZÄÖÜ0-9])(?:[\wÄÖÜäöüß]|-(?=[\wÄÖÜäöüß]))*?(?i:{_HEADS})(?:e?s)?\b")
_QUOTED = re.compile(r"[„\"»]([A-ZÄÖÜ0-9][^„“\"«»\n]{2,60}?)[“\"«]")
_NAME_STOP = frozenset(
    "Der Die Das Den Dem Des Ein Eine Einen Einem Mit Im In Am An Auf Aus Bei Für Von Vom Zum Zur Nach "
    "Seit Bis Und Oder Aber Auch Als Wie Wenn Damit Dazu Hier Dort So Ab Über Unter Vor Durch Gegen Um "
    "Januar Februar März April Mai Juni Juli August September Oktober November Dezember Euro EUR Mio Prozent "
    "Insgesamt Rund Bereits Zudem Außerdem Geplant Laut Stand Jahr Jahren Ende Anfang Mitte".split()
)
_GENERIC_ALONE = frozenset(
    "projekt vorhaben studie campus zentrum hub park büro fläche flächen anlage halle netz werk stadt quartier "
    "station stationen schule gelände kraftwerk speicher plattform verbund labor vorstudie vorstudien studien "
    "machbarkeitsstudien projekte zentren flächen anlagen".split()
)
_ANAPHOR = re.compile(
    r"\b(?:[Dd]as|[Dd]ieses|[Dd]em|[Dd]es|[Dd]ie|[Dd]iese|[Dd]er|[Dd]ieser|[Dd]en)\s+"
    r"(?:Vorhaben|Projekt|Projekts|Projektes|Studie|Vorstudie|Machbarkeitsstudie|Campus|Zentrum|Hub|Stationen|"
    r"Anlage|Maßnahme|Verbund|Büro|Technikum|Quartier|Park)\b"
)


@dataclass(frozen=True)
class _Name:
    start: int
    end: int
    name: str
    strong: bool = True  # quoted, a known project, a table row's name, or more than a bare head noun


def _extend_name(text: str, start: int, end: int, limit: int, places: Sequence[tuple[int, int]]) -> int:
    """Extend a head noun by the name tokens after it: places, proper names, "am/an der/in" + place."""
    pos = end
    taken = 0
    while taken < 4:
        m = re.match(r"(\s*[-–/]\s*|\s+)([A-ZÄÖÜ][\wÄÖÜäöüß.]*(?:-[\wÄÖÜäöüß]+)*)", text[pos:limit])
        joiner = re.match(r"\s+(?:am|an\s+der|in|im)\s+", text[pos:limit])
        if joiner and any(ps == pos + joiner.end() for ps, _ in places):
            place_end = next(pe for ps, pe in places if ps == pos + joiner.end())
            return place_end
        if not m:
            break
        word = m.group(2).rstrip(".")
        word_start = pos + m.start(2)
        if word in _NAME_STOP or (word.isdigit() and len(word) == 4):
            break
        is_place = any(ps == word_start for ps, _ in places)
        pos = next(pe for ps, pe in places if ps == word_start) if is_place else word_start + len(word)
        taken += 1
        if m.group(1).strip() == "" and not is_place and text[word_start - 1] != "-" and taken >= 2:
            break
    return pos


def _names_in(
    text: str,
    lo: int,
    hi: int,
    gazetteer: Gazetteer,
    places: Sequence[tuple[int, int]],
    org_spans: Sequence[tuple[int, int]] = (),
) -> list[_Name]:
    names: list[_Name] = []
    for m in _QUOTED.finditer(text, lo, hi):
        inner = m.group(1).strip()
        if inner in gazetteer.programs and gazetteer.programs[inner].kind != "projekt":
            continue
        if len(inner.split()) <= 7 and not inner.endswith((".", "!", "?")):
            names.append(_Name(m.start(1), m.start(1) + len(inner), inner))
    for mention in gazetteer.find_programs(text[lo:hi]):
        if gazetteer.programs[mention.name].kind == "projekt":
            a, b = lo + mention.start, lo + mention.end
            b = _extend_name(text, a, b, hi, places)
            names.append(_Name(a, b, text[a:b]))
    for m in _HEAD_WORD.finditer(text, lo, hi):
        a, b = m.start(), m.end()
        # a modifier in front: "Regionales Gründungs- und Innovationszentrum", "Vorstudie EcoTecHub"
        before = re.search(r"([A-ZÄÖÜ][\wäöüß]+-?\s+und\s+)$", text[lo:a])
        if before:
            a -= len(before.group(1))
        b = _extend_name(text, a, b, hi, places)
        name = " ".join(text[a:b].split())
        if name.lower() in _GENERIC_ALONE or len(name) < 4 or _only_known_name(name, gazetteer):
            continue
        if any(os <= a < oe for os, oe in org_spans):
            continue
        if name in gazetteer.programs and gazetteer.programs[name].kind != "projekt":
            continue
        tokens, keys = name_tokens(name, gazetteer)
        names.append(_Name(a, b, name, strong=bool(keys) or len(tokens) >= 2))
    names.sort(key=lambda n: (n.start, -(n.end - n.start)))
    kept: list[_Name] = []
    for n in names:
        if kept and n.start < kept[-1].end:
            continue
        kept.append(n)
    return kept


def _row_name(text: str, seg: Segment, gazetteer: Gazetteer) -> _Name | None:
    """The first cell of a table row, when it names something: not an amount, a date, a single common
    noun of a key-value table ("Laufzeit", "Zuwendung"), or just a place, program or organisation."""
    if not seg.cells:
        return None
    a, b = seg.cells[0]
    cell = " ".join(text[a:b].split())
    if find_amounts(cell) or find_dates(cell) or not re.search(r"[A-Za-zÄÖÜäöüß]{3}", cell):
        return None
    if len(cell.split()) == 1 and not _HEAD_WORD.fullmatch(cell):
        return None
    if _only_known_name(cell, gazetteer):
        return None
    return _Name(a, b, cell)


def _only_known_name(name: str, gazetteer: Gazetteer) -> bool:
    """``name`` is nothing but a place, a program (other than a project) or an organisation."""
    for found in (gazetteer.find_places(name), gazetteer.find_organisations(name)):
        if any(m.start == 0 and m.end >= len(name.rstrip(" .")) for m in found):
            return True
    for m in gazetteer.find_programs(name):
        if m.start == 0 and m.end >= len(name.rstrip(" .")) and gazetteer.programs[m.name].kind != "projekt":
            return True
    return False


# --- the document


@dataclass
class _ProjectState:
    name: str
    span: Span
    main: bool
    places: dict[str, PlaceRef] = field(default_factory=dict)
    programs: list[str] = field(default_factory=list)
    organisations: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    stages: list[ProjectStatus] = field(default_factory=list)


_FUNDING_PROGRAM_KINDS = ("foerderprogramm", "fonds")
_FUNDER_ORG_KINDS = ("behoerde", "ministerium", "regierung", "eu", "bank", "agentur")
_FUNDER_WORDS = [
    (re.compile(r"Bundesmittel|[Dd]er Bund\b|des Bundes\b|Bundesförder"), "Bund"),
    (re.compile(r"Landesmittel|[Dd]as Land\b|des Landes\b|Landesregierung"), "Land Nordrhein-Westfalen"),
    (re.compile(r"Europäischen Union|\bEU\b|EU-Mittel"), "Europäische Union"),
]
_EVENT_CUES = [
    (
        re.compile(r"(?i)abgeschlossen|fertiggestellt|Abschluss|beendet|Abschlussbericht"),
        "Abschluss",
        ProjectStatus.COMPLETED,
    ),
    (re.compile(r"(?i)eröffne\w*|Eröffnung|in Betrieb|Inbetriebnahme"), "Eröffnung", ProjectStatus.RUNNING),
    (re.compile(r"(?i)Förderbescheid|Zuwendungsbescheid|Bescheid"), "Förderbescheid", ProjectStatus.APPROVED),
    (re.compile(r"(?i)bewilligt\w*|Bewilligung"), "Bewilligung", ProjectStatus.APPROVED),
    (re.compile(r"(?i)Workshop"), "Workshop", ProjectStatus.RUNNING),
    (re.compile(r"(?i)Richtfest|Spatenstich|Grundsteinlegung"), "Baufortschritt", ProjectStatus.RUNNING),
    (re.compile(r"(?i)beschlossen|beschließt|beschloss|Beschluss|unterstützt den Antrag"), "Beschluss", None),
    (re.compile(r"(?i)Projektskizze"), "Projektskizze", ProjectStatus.PLANNED),
    (
        re.compile(r"(?i)gestartet|startet|\bStart\b|Beginn|beginnt|begonnen|Laufzeit|Auftakt"),
        "Start",
        ProjectStatus.RUNNING,
    ),
    (re.compile(r"(?i)beauftragt|Auftrag erteilt|Vergabe"), "Beauftragung", ProjectStatus.APPROVED),
    (re.compile(r"(?i)vorgestellt|präsentiert"), "Vorstellung", None),
    (re.compile(r"(?i)Antrag|beantragt|eingereicht"), "Antrag", ProjectStatus.PLANNED),
    (re.compile(r"(?i)geplant|soll\b|sollen\b|vorgesehen|Ziel"), "geplant", ProjectStatus.PLANNED),
]
_DAY_MONTH = re.compile(
    r"(?<![\w.])(\d{1,2})\.\s*(Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember)"
    r"(?!\s*\d)"
)
_MONTH_NO = {
    m: i + 1
    for i, m in enumerate("Januar Februar März April Mai Juni Juli August September Oktober November Dezember".split())
}


def _fact_id(doc_id: str, start: int, eur: float) -> str:
    return hashlib.sha1(f"{doc_id}:{start}:{eur:.2f}".encode()).hexdigest()[:16]


def _most_specific(gazetteer: Gazetteer, refs: Iterable[PlaceRef]) -> tuple[PlaceRef, ...]:
    refs = list(dict.fromkeys(refs))
    keys = {r.ags for r in refs}
    out = []
    for r in refs:
        below = any(k != r.ags and r.ags in gazetteer.expand_up(k) for k in keys if k in gazetteer.places)
        if not below:
            out.append(r)
    return tuple(out)


class _Reader:
    def __init__(self, doc: Document, gazetteer: Gazetteer) -> None:
        self.doc = doc
        self.text = doc.text
        self.gaz = gazetteer
        self.year = doc.date[:4] if doc.date else None
        self.places = [
            (m.start, m.end, PlaceRef(m.name, m.ags))
            for m in gazetteer.find_places(self.text)
            if not _authority(self.text, m.start, m.end)
        ]
        self.org_spans = [(m.start, m.end, m.name) for m in gazetteer.find_organisations(self.text)]
        self.prog_spans = [
            (m.start, m.end, m.name)
            for m in gazetteer.find_programs(self.text)
            if gazetteer.programs[m.name].kind in _FUNDING_PROGRAM_KINDS
        ]
        title_programs = [
            m.name
            for m in gazetteer.find_programs(doc.title)
            if gazetteer.programs[m.name].kind in _FUNDING_PROGRAM_KINDS
        ]
        counts: dict[str, int] = {}
        for _s, _e, name in self.prog_spans:
            counts[name] = counts.get(name, 0) + 1
        dominant = max(counts, key=lambda n: counts[n]) if counts else None
        # the program a document is about: named in its title, or most of its program mentions
        self.doc_program: str | None = title_programs[0] if title_programs else None
        if self.doc_program is None and dominant and counts[dominant] * 5 >= 3 * sum(counts.values()):
            self.doc_program = dominant
        self.place_spans = [(s, e) for s, e, _ in self.places if not self._in_org(s)]
        self.projects: dict[str, _ProjectState] = {}
        self.main: str | None = None

    def _in_org(self, pos: int) -> bool:
        return any(s <= pos < e for s, e, _ in self.org_spans)

    def span(self, start: int, end: int) -> Span:
        return Span(start, end, self.text[start:end], self.doc.page_at(start))

    def places_in(self, lo: int, hi: int) -> list[PlaceRef]:
        return [ref for s, _, ref in self.places if lo <= s < hi and not self._in_org(s)]

    def programs_in(self, lo: int, hi: int) -> list[str]:
        """Funding programs and funds named in ``text[lo:hi]`` (not initiatives or projects), in order."""
        return list(dict.fromkeys(name for s, _e, name in self.prog_spans if lo <= s < hi))

    def nearest_program(self, lo: int, hi: int, pos: int) -> list[str]:
        inside = [(abs(s - pos), name) for s, _e, name in self.prog_spans if lo <= s < hi]
        return [min(inside)[1]] if inside else []

    def project(self, name: _Name, main: bool = False) -> str:
        key = local_key(name.name, self.gaz)
        state = self.projects.get(key)
        if state is None:
            state = _ProjectState(name.name, self.span(name.start, name.end), main)
            self.projects[key] = state
        state.main = state.main or main
        for ref in self.places_in(name.start, name.end):
            state.places.setdefault(ref.ags, ref)
        return key

    def dates_in(self, lo: int, hi: int) -> list[tuple[int, int, str]]:
        found = [(lo + s, lo + e, d) for s, e, d in find_dates(self.text[lo:hi])]
        for m in _YEAR_CELL.finditer(self.text, lo, hi):  # "… | 6,4 Mio. € | 2022": a table cell that is a year
            if not any(s <= m.start(1) < e for s, e, _ in found):
                found.append((m.start(1), m.end(1), m.group(1)))
        for m in _DAY_MONTH.finditer(self.text, lo, hi):
            year = self.year or self._year_before(m.start())
            if year and not any(s <= m.start() < e for s, e, _ in found):
                found.append((m.start(), m.end(), f"{year}-{_MONTH_NO[m.group(2)]:02d}-{int(m.group(1)):02d}"))
        return sorted(found)

    def _year_before(self, pos: int) -> str | None:
        years = re.findall(r"(?<!\d)(?:19|20)\d{2}(?!\d)", self.text[:pos])
        return years[-1] if years else None


def _authority(text: str, start: int, end: int) -> bool:
    """A place named as an authority or funder ("Bezirksregierung Arnsberg", "das Land Nordrhein-Westfalen",
    "nordrhein-westfälische …") is no place a fact or project is about."""
    surface = text[start:end]
    if surface[:1].islower() or surface.startswith(("Land ", "Bezirksregierung", "Landesregierung")):
        return True
    before = text[max(0, start - 24) : start]
    return bool(re.search(r"(?:Bezirksregierung|Regierungsbezirk|Landesregierung|[Dd]as Land|des Landes)\s*$", before))


def extract_intel(doc: Document, gazetteer: Gazetteer) -> DocIntel:
    """The funding facts and project mentions of ``doc``; pure and deterministic."""
    r = _Reader(doc, gazetteer)
    text = doc.text
    segs = segments(text)

    # the main project: named in the title (or in the first segment that repeats the title)
    title = _title_proper(doc.title)
    title_places = [(m.start, m.end) for m in gazetteer.find_places(title)]
    title_names = _names_in(title, 0, len(title), gazetteer, title_places) if title else []
    if title_names:
        head = title_names[0].name
        where = text.find(head)
        if where >= 0:
            r.main = r.project(_Name(where, where + len(head), head), main=True)
        else:
            r.main = local_key(head, gazetteer)
            r.projects[r.main] = _ProjectState(head, Span(0, 0, head, None), True)
            for p in gazetteer.find_places(head):
                r.projects[r.main].places.setdefault(p.ags, PlaceRef(p.name, p.ags))

    facts: list[Fact] = []
    drafts: list[Fact] = []
    last_project: str | None = r.main
    section_programs: list[str] = []
    section_places: list[PlaceRef] = []
    current_block, block_project = -1, None
    section_project: str | None = None  # named by the last heading ("4.2 Schwammstadt Kamen-Mitte")
    for seg in segs:
        names = (
            [_row_name(text, seg, gazetteer)]
            if seg.cells
            else _names_in(text, seg.start, seg.end, gazetteer, r.place_spans, [(s, e) for s, e, _ in r.org_spans])
        )
        if seg.block != current_block:
            current_block, block_project = seg.block, None
        context = block_project or section_project or r.main
        # a bare head noun ("Ladepunkte", "Grünflächen") in a paragraph about a named project is a part
        # or a detail of that project, not a project of its own
        keys = [(n, r.project(n)) for n in names if n is not None and (n.strong or context is None)]
        seg_text = text[seg.start : seg.end]
        anaphor = _ANAPHOR.search(seg_text)
        seg_places = r.places_in(seg.start, seg.end)
        seg_programs = r.programs_in(seg.start, seg.end)

        if len(seg_text) <= 100 and not seg.cells and not find_amounts(seg_text):
            if not seg_text.rstrip().endswith((".", ":", ";", ",")):  # a heading: a new section
                strong = [k for n, k in keys if n.strong]
                section_project = strong[0] if len(strong) == 1 else None
            if seg_programs:
                section_programs = seg_programs[:1]
            local = _local(gazetteer, seg_places)
            if len({p.ags for p in local}) == 1:  # a heading like "4.1 Duisburg"
                section_places = local[:1]
        # no name in the segment: the project of the paragraph, one referred back to, or the document's
        fallback = block_project or section_project or ((last_project or r.main) if anaphor else r.main)
        seg_project = keys[0][1] if keys else fallback
        if seg_project is not None:
            state = r.projects[seg_project]
            for ref in seg_places if len(keys) == 1 else []:
                state.places.setdefault(ref.ags, ref)
            for prog in seg_programs:
                if prog not in state.programs:
                    state.programs.append(prog)
            for s, _e, org in r.org_spans:
                inside = seg.start <= s < seg.end
                if (
                    inside
                    and gazetteer.organisations[org].kind not in _FUNDER_ORG_KINDS
                    and org not in state.organisations
                ):
                    state.organisations.append(org)
            _events(r, seg, state)
        if keys:
            last_project = block_project = keys[-1][1]

        explicit = find_amounts(seg_text)
        explicit = [AmountSpan(a.start + seg.start, a.end + seg.start, a.low, a.high) for a in explicit]
        amounts = sorted(explicit + _implicit_amounts(text, seg, explicit), key=lambda a: a.start)
        for i, amount in enumerate(amounts):
            lo = amounts[i - 1].end if i else seg.start
            hi = amounts[i + 1].start if i + 1 < len(amounts) else seg.end
            window = text[max(lo, amount.start - 80) : min(hi, amount.end + 40)]
            if _NO_FACT.search(window):
                continue
            if amount.low < _SMALL_EUR and not _OUTRIGHT_FUNDING.search(text, lo, hi):
                continue
            kind: FactKind | None
            if seg.cells:
                kind = _header_kind(seg, text, amount)
            else:
                kind = _kind(text, lo, amount, hi) or _kind(text, seg.start, amount, seg.end)
            project = _project_at(keys, amount.start, fallback, lambda a, b: text[a.end : b.start])
            if kind is None and not seg_programs and project is None and not (section_programs or r.doc_program):
                continue  # an amount tied to nothing we can name is no funding fact
            kind = kind or FactKind.FUNDING
            if not seg.cells and not keys and not anaphor and _STRONG_BUDGET.search(text, lo, hi):
                kind = FactKind.BUDGET
            if (
                kind is FactKind.FUNDING
                and not keys
                and not anaphor
                and r.main is None
                and seg_programs
                and _PROGRAM_VOLUME.search(seg_text)
                and not _GRANTED.search(seg_text)
            ):
                kind = FactKind.BUDGET
            if kind is FactKind.BUDGET and not keys and not anaphor:
                project = None
            if kind is FactKind.FUNDING and not keys and not anaphor and seg_programs and r.main is None:
                project = None
            named = [n for n, k in keys if k == project]
            places = (
                (r.places_in(named[-1].start, named[-1].end) if named else [])
                or r.places_in(lo, amount.start)
                or r.places_in(amount.end, hi)
            )
            programs = (
                r.nearest_program(lo, hi, amount.start)
                or r.nearest_program(seg.start, seg.end, amount.start)
                or (r.projects[project].programs[:1] if project is not None else [])
                or section_programs
                or ([r.doc_program] if r.doc_program else [])
            )
            drafts.append(
                Fact(
                    fact_id=_fact_id(doc.doc_id, amount.start, amount.low),
                    doc_id=doc.doc_id,
                    eur=amount.low,
                    amount_text=text[amount.start : amount.end],
                    kind=kind,
                    purpose=_purpose(text, seg, amount, r.projects[project].name if project else None),
                    project=project,  # the local key until the document's mentions are merged
                    places=tuple(places)
                    or tuple(_program_area(gazetteer, programs) if project is None else section_places)
                    or tuple(section_places),
                    programs=tuple(dict.fromkeys(programs)),
                    funder=_funder(r, seg),
                    date=_fact_date(r, seg, amount),
                    span=r.span(seg.start, seg.end),
                    amount_start=amount.start,
                    amount_end=amount.end,
                )
            )

    rep_of = _merge_mentions(r)
    if r.main is not None and not _local(gazetteer, r.projects[rep_of.get(r.main, r.main)].places.values()):
        dominant = _dominant_place(r)
        if dominant is not None:  # "Kraftwerksfläche Lippholthausen" in a press release of the Stadt Lünen
            r.projects[rep_of.get(r.main, r.main)].places[dominant.ags] = dominant
    for draft in drafts:
        key = rep_of.get(draft.project) if draft.project else None
        places = list(draft.places)
        if key is not None and (not places or not _local(gazetteer, places)):
            places = list(r.projects[key].places.values()) or places
        facts.append(
            replace(
                draft,
                project=r.projects[key].name if key else None,
                places=_most_specific(gazetteer, _prefer_local(gazetteer, places)),
            )
        )
    mentions = tuple(
        ProjectMention(
            doc_id=doc.doc_id,
            name=s.name,
            span=s.span,
            places=_most_specific(gazetteer, s.places.values()),
            programs=tuple(s.programs),
            organisations=tuple(s.organisations),
            status=_status(s),
            events=tuple(sorted(dict.fromkeys(s.events), key=lambda e: (e.date, e.span.char_start))),
            main=s.main,
        )
        for key, s in r.projects.items()
        if rep_of.get(key, key) == key
    )
    used = {f.project for f in facts}
    mentions = tuple(m for m in mentions if m.main or m.name in used or m.events or _strong(m.name, gazetteer))
    return DocIntel(doc_id=doc.doc_id, facts=tuple(facts), mentions=mentions)


def _program_area(gazetteer: Gazetteer, programs: Sequence[str]) -> list[PlaceRef]:
    """A program-wide amount is about the program's funding area, when the gazetteer knows it."""
    for name in programs:
        area = gazetteer.programs[name].area
        if area:
            return [PlaceRef(gazetteer.places[k].name, k) for k in area]
    return []


def _dominant_place(r: _Reader) -> PlaceRef | None:
    """The Gemeinde or Stadt a document is mostly about: most of its local place mentions, at least two."""
    counts: dict[str, int] = {}
    refs: dict[str, PlaceRef] = {}
    for _s, _e, ref in r.places:
        if ref.ags in r.gaz.local_keys and r.gaz.places[ref.ags].kind != "kreis":
            counts[ref.ags] = counts.get(ref.ags, 0) + 1
            refs[ref.ags] = ref
    if not counts:
        return None
    best = max(counts, key=lambda k: counts[k])
    return refs[best] if counts[best] >= 2 and counts[best] * 2 >= sum(counts.values()) else None


def _local(gazetteer: Gazetteer, places: Iterable[PlaceRef]) -> list[PlaceRef]:
    return [p for p in places if p.ags in gazetteer.local_keys]


def _prefer_local(gazetteer: Gazetteer, places: list[PlaceRef]) -> list[PlaceRef]:
    """Kreise, Städte and Gemeinden when there are any; the Land or a region only alone."""
    return _local(gazetteer, places) or places


def _merge_mentions(r: _Reader) -> dict[str, str]:
    """Within one document, a name whose words are contained in another's (and whose places agree) is
    the same project: "Mobilstationen" and "Mobilstationen in Selm". Returns local key -> kept key;
    the kept project gets the merged places, programs, organisations, events and stages."""
    keys = list(r.projects)
    tokens = {k: name_tokens(r.projects[k].name, r.gaz)[0] for k in keys}
    rep_of = {k: k for k in keys}

    def root(k: str) -> str:
        while rep_of[k] != k:
            k = rep_of[k]
        return k

    def places_agree(a: str, b: str) -> bool:
        pa = {p for p in r.projects[a].places if p in r.gaz.local_keys}
        pb = {p for p in r.projects[b].places if p in r.gaz.local_keys}
        if not pa or not pb:
            return True
        return any(x == y or y in r.gaz.expand_up(x) or x in r.gaz.expand_up(y) for x in pa for y in pb)

    # the main project first, then longer names: they absorb the shorter ones
    order = sorted(keys, key=lambda k: (not r.projects[k].main, -len(tokens[k])))
    for i, a in enumerate(order):
        for b in order[i + 1 :]:
            ta, tb = tokens[a], tokens[b]
            if not ta or not tb or root(a) == root(b):
                continue
            if (tb <= ta or ta <= tb) and places_agree(a, b):
                rep_of[root(b)] = root(a)
    out = {k: root(k) for k in keys}
    for k, kept in out.items():
        if k == kept:
            continue
        src, dst = r.projects[k], r.projects[kept]
        for ags, ref in src.places.items():
            dst.places.setdefault(ags, ref)
        dst.programs += [p for p in src.programs if p not in dst.programs]
        dst.organisations += [o for o in src.organisations if o not in dst.organisations]
        dst.events += src.events
        dst.stages += src.stages
        dst.main = dst.main or src.main
    return out


def _title_proper(title: str) -> str:
    """The title without the site's name ("… – Stadt Selm", "… | WFG Kreis Unna") and a leading label
    ("Pressemitteilung: …")."""
    title = re.sub(r"^\s*(?:Pressemitteilung|Presseinformation|Meldung|Projekt|News|Aktuelles)\s*:\s*", "", title or "")
    parts = re.split(r"\s+[|–—-]\s+", title)
    return parts[0] if len(parts[0]) >= 8 else title


def _project_at(
    keys: Sequence[tuple[_Name, str]], pos: int, fallback: str | None, text_between: Callable[[_Name, _Name], str]
) -> str | None:
    """The project named last before ``pos`` in the segment (else its first), or ``fallback``."""
    if keys:
        before = [(n, k) for n, k in keys if n.start <= pos]
        if not before:
            return keys[0][1]
        # "Fernwärme Lünen/Bergkamen, Großwärmepumpe und Speicher (14,2 Mio. EUR)": an apposition right
        # after a name describes that project; the amount is the first name's
        i = len(before) - 1
        while i > 0 and text_between(before[i - 1][0], before[i][0]).strip() in (",", "–", "-", ":"):
            i -= 1
        return before[i][1]
    return fallback


def _strong(name: str, gazetteer: Gazetteer) -> bool:
    """A name that stands for a project even without an amount: quoted-like, multi-word, or a known project."""
    if name in gazetteer.programs:
        return True
    tokens, keys = name_tokens(name, gazetteer)
    return bool(keys) and len(tokens) >= 1


def _header_kind(seg: Segment, text: str, amount: AmountSpan) -> FactKind:
    for i, (a, b) in enumerate(seg.cells):
        if a <= amount.start < b + 1 and i < len(seg.header):
            for kind, pattern in _KIND_HEADERS:
                if pattern.search(seg.header[i]):
                    return kind
    return _kind(text, seg.start, amount, seg.end) or FactKind.FUNDING


def _purpose(text: str, seg: Segment, amount: AmountSpan, project: str | None) -> str:
    m = re.search(r"\bfür\s+(?:den|die|das|dem|einen|eine|ein)?\s*([^,.;:()]{3,60})", text[amount.end : seg.end])
    if m:
        return " ".join(m.group(0).split()[:7])
    if project:
        return project
    words = text[seg.start : seg.end].split()
    return " ".join(words[:8]) + (" …" if len(words) > 8 else "")


def _funder(r: _Reader, seg: Segment) -> str | None:
    for s, _e, org in r.org_spans:
        if seg.start <= s < seg.end and r.gaz.organisations[org].kind in _FUNDER_ORG_KINDS:
            return org
    seg_text = r.text[seg.start : seg.end]
    for pattern, funder in _FUNDER_WORDS:
        if pattern.search(seg_text):
            return funder
    return None


def _fact_date(r: _Reader, seg: Segment, amount: AmountSpan) -> str | None:
    dates = [d for d in r.dates_in(seg.start, seg.end) if not (amount.start <= d[0] < amount.end)]
    if not dates:
        return None
    if seg.cells:
        return dates[-1][2]
    cue = re.search(
        r"(?i)bewillig|bescheid|zuwendung|übergeben|erhalten|erhielt|seit|ab\b", r.text[seg.start : seg.end]
    )
    if not cue:
        return None
    return min(dates, key=lambda d: abs(d[0] - amount.start))[2]


def _events(r: _Reader, seg: Segment, state: _ProjectState) -> None:
    """The dated events of a segment, one per clause (clauses end at ";")."""
    if seg.cells:
        _clause_events(r, seg, seg.start, seg.end, state)
        return
    start = seg.start
    for m in re.finditer(r";", r.text[seg.start : seg.end]):
        _clause_events(r, seg, start, seg.start + m.start(), state)
        start = seg.start + m.end()
    _clause_events(r, seg, start, seg.end, state)


def _clause_events(r: _Reader, seg: Segment, lo: int, hi: int, state: _ProjectState) -> None:
    seg_text = r.text[lo:hi]
    dates = r.dates_in(lo, hi)
    found_cue = False
    for pattern, what, stage in _EVENT_CUES:
        m = pattern.search(seg_text)
        if not m:
            continue
        found_cue = True
        if stage is not None:
            state.stages.append(stage)
        if not dates and r.doc.date and _TODAY.search(seg_text):
            # "hat heute … eröffnet", "Beschluss: …" in minutes: the day of the document itself
            dates = [(lo, lo, r.doc.date)]
        if not dates:
            break
        cue_at = lo + m.start()
        date = min(dates, key=lambda d: abs(d[0] - cue_at))
        label = what
        if what == "Start" and len(dates) >= 2 and re.search(r"(?i)laufzeit|bis", seg_text):
            state.events.append(Event(dates[-1][2], "Ende der Laufzeit", r.span(seg.start, seg.end)))
            date = dates[0]
        state.events.append(Event(date[2], label, r.span(seg.start, seg.end)))
        break
    if not found_cue and seg.cells and dates:
        state.events.append(Event(dates[-1][2], "Bewilligung", r.span(seg.start, seg.end)))
        state.stages.append(ProjectStatus.APPROVED)


_YEAR_CELL = re.compile(r"\|\s*((?:19|20)\d{2})\s*(?=\||$)", re.MULTILINE)
_TODAY = re.compile(r"\b(?:heute|[Hh]eute)\b|^\s*(?:->\s*)?Beschluss\s*:")
_STAGE_ORDER = [ProjectStatus.PLANNED, ProjectStatus.APPROVED, ProjectStatus.RUNNING, ProjectStatus.COMPLETED]


def _status(state: _ProjectState) -> ProjectStatus | None:
    if not state.stages:
        return None
    return max(state.stages, key=_STAGE_ORDER.index)
