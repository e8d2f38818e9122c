"""Direct answers: a German "wie viel / wann / wie viele / wer / wo" question answered with one value and
its cited sentence, or not at all.

Three pure steps, no model and no I/O (the hybrid search runs before, in ``ask``):

1. ``understand_question`` reads what is asked: the type (amount, date, count, person, organisation,
   place), for amounts the kind (funding vs cost: "Zuschuss", "Fördergeld" vs "kostet", "insgesamt",
   "Gesamtkosten"), for dates the end of a period ("bis wann") or its start ("seit wann"), for counts the
   counted noun ("wie viele *Firmen*"), and the subject: the remaining content words (stems), the places
   (gazetteer), programs (gazetteer aliases) and register projects the question names.
2. ``candidates`` reads values from the sentences of the best passages (amounts and dates with the
   finders of ``core.textvalues``, counts as number + noun, persons by simple German name patterns,
   organisations by the gazetteer and "Bezirksregierung X"-style names, places by the gazetteer and
   "Ort-Ortsteil" compounds). Amounts take their kind from the register's fact at the same offset, else
   from the nearest cue word. (The register's projects named in the question are recognised,
   ``Question.projects``, but not used for candidates or scores yet: the name matching is loose, "Kraftwerk
   Scholven" matches the Lippholthausen project, so a bonus would invite wrong answers.)
3. ``score`` combines how much of the subject the candidate's sentence states (weighted by rarity among
   the retrieved passages; the title, headings and the neighbouring sentence count half), the
   retrieval rank of its passage, whether the counted noun or the amount's kind agrees with the
   question, whether the passage is about the places the question names, and how many documents give
   the same value. ``answer`` returns the best candidate when its
   score clears ``AnswerOptions.threshold`` and no candidate with another value comes close
   (``margin``); both were chosen by measurement on the answers collection (README, "Direkte Antworten").

A wrong number in a funding context is worse than none: when in doubt, no answer.
"""

from __future__ import annotations

import enum
import itertools
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.analysis import fold, tokenize
from core.facts import FactKind
from core.gazetteer import Gazetteer
from core.models import Hit
from core.textvalues import find_amounts, find_dates
from search.engine import Searcher, SearchRequest, SearchResult
from search.register import Citation, Register


class Asked(enum.StrEnum):
    AMOUNT = "amount"
    DATE = "date"
    COUNT = "count"
    PERSON = "person"
    ORGANISATION = "organisation"
    PLACE = "place"


@dataclass(frozen=True)
class Question:
    text: str
    asked: Asked | None
    kind: FactKind | None = None  # amounts: funding or cost, None = either
    period_end: bool = False  # "bis wann"
    period_start: bool = False  # "seit wann", "ab wann"
    count_noun: str | None = None  # stem of the counted noun
    org_class: str | None = None  # "behörde", "hochschule", ... after "welche"
    subject: frozenset[str] = frozenset()  # content stems
    place_keys: tuple[str, ...] = ()
    place_names: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()  # register project ids the question names


@dataclass(frozen=True)
class Candidate:
    """A value read at ``doc text[value_start:value_end]`` inside the sentence ``citation`` quotes."""

    asked: Asked
    value: float | int | str
    text: str
    citation: Citation
    value_start: int
    value_end: int
    rank: int  # 0-based rank of the passage it was read from
    passage_id: str = ""
    fact_kind: FactKind | None = None
    noun: str | None = None  # counts: the stem of the counted noun
    context: str = ""  # title, headings and the neighbouring sentences
    cue: float = 1.0  # agreement with the question's kind / noun / class (0 = excluded)
    place_ok: bool = True  # the passage is about the places the question names (or names none)


@dataclass(frozen=True)
class Scored:
    candidate: Candidate
    score: float
    overlap: float
    documents: int  # documents that give the same value


@dataclass(frozen=True)
class Answer:
    text: str
    kind: Asked
    value: float | int | str
    citation: Citation
    score: float
    value_start: int  # offsets of the value in the document text (inside the citation)
    value_end: int
    fact_kind: FactKind | None = None
    passage_id: str = ""  # the passage the sentence was read from (links to it in the document view)

    def to_dict(self) -> dict[str, Any]:
        value: float | int | str = self.value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return {
            "text": self.text,
            "kind": self.kind.value,
            "value": value,
            "citation": self.citation.to_dict(),
            "score": round(self.score, 4),
            "fact_kind": self.fact_kind.value if self.fact_kind else None,
            "value_start": self.value_start,
            "value_end": self.value_end,
            "passage_id": self.passage_id,
        }


@dataclass(frozen=True)
class AnswerOptions:
    """Chosen by measurement on evaluation/collections/answers (a grid over the weights, then the
    threshold and margin that answer most questions right while wrong answers stay <= 5 % of all)."""

    passages: int = 10  # how many of the best passages are read
    threshold: float = 0.42
    margin: float = 0.12  # another value within this distance of the best: no answer
    w_overlap: float = 0.6  # the subject in the candidate's own sentence
    w_context: float = 0.3  # ... in the title, headings and neighbouring sentences
    w_rank: float = 0.2  # retrieval rank of the passage
    w_agree: float = 0.1  # per further document that gives the same value (at most two)
    place_penalty: float = 0.5  # factor when the passage is not about a place the question names


@dataclass(frozen=True)
class AnswerResult:
    question: Question
    answer: Answer | None
    ranked: tuple[Scored, ...] = field(default=(), repr=False)


# --------------------------------------------------------------------------- question understanding

_ORG_CLASSES = {
    "behörde": ("behoerde", "regierung"),
    "bezirksregierung": ("behoerde", "regierung"),
    "hochschule": ("hochschule",),
    "universität": ("hochschule",),
    "ministerium": ("ministerium",),
    "gesellschaft": ("wirtschaftsfoerderung", "agentur", "unternehmen"),
    "einrichtung": (),
    "institution": (),
    "organisation": (),
    "stelle": (),
    "arbeitsagentur": (),
    "unternehmen": ("unternehmen",),
    "firma": ("unternehmen",),
    "kammer": ("kammer",),
}
_PERSON_CUES = (
    "leitet",
    "leiter",
    "leitung",
    "koordiniert",
    "ansprechpartner",
    "geschäfte",
    "geschäftsführ",
    "zuständig",
    "vortrag",
    "hielt",
    "bürgermeister",
    "manager",
    "sprecher",
    "chef",
    "vorsitz",
)
_COST_CUES = ("kost", "teuer", "insgesamt", "gesamtvolumen", "investition", "finanzbedarf", "eigenanteil")
_FUNDING_CUES = (
    "förder",
    "zuschuss",
    "zuwendung",
    "bekommt",
    "bekommen",
    "erhält",
    "erhalten",
    "gibt",
    "zahlt",
    "fließt",
    "bewilligt",
    "finanziert",
    "bundesgeld",
    "jtf-geld",
    "planungsgeld",
)
# Words that say what is asked, not what it is about (folded, compared by prefix).
_QUESTION_WORDS = frozenset(
    "wie viel viele hoch hohe hoher was wann wer wo welche welcher welches welchem welchen wessen seit bis ab "
    "genau insgesamt geld euro kosten kostet teuer summe fordersumme hohe anzahl datum zeitpunkt stadt ort "
    "gab gibt es eigentlich denn fur uber".split()
)
_NUMBER_WORDS = {
    "zwei": 2,
    "drei": 3,
    "vier": 4,
    "fünf": 5,
    "sechs": 6,
    "sieben": 7,
    "acht": 8,
    "neun": 9,
    "zehn": 10,
    "elf": 11,
    "zwölf": 12,
}
# Counted nouns that mean the same (stems); German funding texts vary them freely.
_NOUN_SYNONYMS = (
    frozenset({"firm", "unternehm", "betrieb"}),
    frozenset({"arbeitsplatz", "beschaft", "job", "stell"}),
    frozenset({"projekt", "vorhab", "massnahm"}),
    frozenset({"teilnehm", "teilnehmend", "teilnehmer"}),
    frozenset({"antwort", "ruckmeld", "fragebog"}),
    frozenset({"interview", "gesprach"}),
)


def _stems(text: str) -> list[str]:
    return [t.stem for t in tokenize(text)]


def understand_question(question: str, gazetteer: Gazetteer, register: Register | None = None) -> Question:
    """What ``question`` asks for, about what, with which constraints."""
    q = question.strip()
    low = q.lower()
    asked: Asked | None = None
    org_class: str | None = None
    m_class = re.search(r"\b(?:welche[rsmn]?|bei welche[rmn]?|in welche[rmn]?)\s+([a-zäöüß]+)", low)
    cls = m_class.group(1) if m_class else None
    if re.search(r"\bwie\s*viele\b|\banzahl\b", low):
        asked = Asked.COUNT
    elif re.search(r"\bwie\s*viel\b|\bwie hoch\b|\bwas kost|\bwie teuer\b|\bfördersumme\b|\bhöhe\b", low):
        asked = Asked.AMOUNT
    elif re.search(r"\bwann\b|\bdatum\b|\bzeitpunkt\b|\bin welchem (?:jahr|monat)\b", low):
        asked = Asked.DATE
    elif re.search(
        r"^\s*wo\b|\bwo (?:genau|in|liegt|steht|sitzt)\b|\bin welche[rm] (?:stadt|ort|gemeinde|stadtteil)", low
    ):
        asked = Asked.PLACE
    elif cls and any(cls.startswith(c) or cls.endswith(c) for c in _ORG_CLASSES):
        asked = Asked.ORGANISATION
        org_class = next(c for c in _ORG_CLASSES if cls.startswith(c) or cls.endswith(c))
    elif re.search(r"\bin wessen\b", low):
        asked = Asked.ORGANISATION
    elif re.search(r"\bwer\b", low):
        asked = Asked.PERSON if any(c in low for c in _PERSON_CUES) else Asked.ORGANISATION

    kind: FactKind | None = None
    if asked is Asked.AMOUNT:
        if any(c in low for c in _COST_CUES) and not re.search(r"förder|zuschuss|zuwendung", low):
            kind = FactKind.COST
        elif any(c in low for c in _FUNDING_CUES):
            kind = FactKind.FUNDING

    count_noun = None
    if asked is Asked.COUNT:
        m = re.search(r"\b[Ww]ie\s*viele\s+((?:[a-zäöüß-]+\s+){0,2}?)([A-ZÄÖÜ][\wäöüß-]*)", q)
        if m:
            noun = m.group(2)
            parts = _stems(noun.split("-")[-1])
            count_noun = parts[-1] if parts else None

    places = gazetteer.find_places(q, ignore_case=True)
    programs = tuple(dict.fromkeys(m.name for m in gazetteer.find_programs(q, ignore_case=True)))
    subject = frozenset(
        t.stem
        for t in tokenize(q)
        if (
            "-" not in q[t.start : t.end]  # a hyphenated compound counts by its parts
            and (
                fold(q[t.start : t.end]) not in _QUESTION_WORDS
                and t.stem not in _QUESTION_WORDS
                and not t.stem.isdigit()
            )
        )
        or re.fullmatch(r"(?:19|20)\d\d", q[t.start : t.end])
    )
    projects = _projects_named(subject, register) if register is not None else ()
    return Question(
        text=q,
        asked=asked,
        kind=kind,
        period_end=bool(re.search(r"\bbis wann\b", low)),
        period_start=bool(re.search(r"\b(?:seit|ab) wann\b", low)),
        count_noun=count_noun,
        org_class=org_class,
        subject=subject,
        place_keys=tuple(dict.fromkeys(p.ags for p in places)),
        place_names=tuple(q[p.start : p.end] for p in places),
        programs=programs,
        projects=projects,
    )


def _stem_match(a: str, b: str) -> bool:
    """Same stem, or one is a compound part of the other ("wasserstoffzentrum" / "zentrum")."""
    if a == b:
        return True
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 5 and (long.startswith(short) or long.endswith(short))


def _projects_named(subject: frozenset[str], register: Register) -> tuple[str, ...]:
    """Projects whose name or an alias the question names: all its distinctive words occur in the question."""
    found = []
    for project in register.projects:
        for name in (project.name, *project.aliases):
            words = {s for s in _stems(name) if not s.isdigit()}
            if len(words) >= 1 and all(any(_stem_match(w, s) for s in subject) for w in words):
                if len(words) == 1 and len(next(iter(words))) < 6:
                    continue  # one short word ("Hub") says too little
                found.append(project.project_id)
                break
    return tuple(found)


# --------------------------------------------------------------------------- sentences

_ABBREV = frozenset(
    "mio mrd tsd dr prof nr abs bzw ca rd inkl ggf evtl str vgl z b u a s st jan feb mär apr jun jul aug sep "
    "sept okt nov dez mill dipl ing gmbh e v".split()
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, bullet item, list line or table row of ``text``.

    A single line break ends a unit when the line ends like a value or a sentence (".", ":", a digit,
    "€", ")") and the next one starts with a capital or a bullet, or when a line is a table row ("|");
    otherwise it is a wrapped line of a PDF and the sentence goes on.
    """
    cuts = {0, len(text)}
    for m in re.finditer(r"\n\s*\n", text):
        cuts.add(m.end())
    for m in re.finditer(r"\n", text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        prev = text[line_start : m.start()].rstrip()
        nxt_end = text.find("\n", m.end())
        nxt = text[m.end() : nxt_end if nxt_end >= 0 else len(text)].lstrip()
        if (
            "|" in prev
            or "|" in nxt
            or re.match(r"[•\-–*▪]", nxt)
            or (re.search(r"(?:[.!?:;€%)\d]|EUR|Euro)$", prev) and re.match(r"[A-ZÄÖÜ„\"]", nxt))
        ):
            cuts.add(m.end())
    for m in re.finditer(r"\s[•▪]\s", text):
        cuts.add(m.start() + 1)
    for m in re.finditer(r"[.!?](?=[\s\"“”»]+[„\"»]?[A-ZÄÖÜ0-9•])", text):
        before = re.search(r"(\w+)\.?$", text[max(0, m.start() - 20) : m.start() + 1])
        word = before.group(1).lower() if before else ""
        if word in _ABBREV or word.isdigit() or len(word) == 1:
            continue
        cuts.add(m.end())
    ordered = sorted(cuts)
    out = []
    for a, b in itertools.pairwise(ordered):
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b - a >= 3:
            out.append((a, b))
    return out


# --------------------------------------------------------------------------- candidates per type

_COST_WORDS = ("kost", "gesamtkost", "gesamtvolum", "volum", "investition", "invest", "finanzbedarf", "belauf")
_FUNDING_WORDS = (
    "förder",
    "zuschuss",
    "zuwendung",
    "bewillig",
    "finanzier",
    "zugesagt",
    "zusag",
    "fließ",
    "trägt",
    "erhält",
    "erhielt",
    "bekommt",
    "mittel",
    "bescheid",
    "gefördert",
)
_BUDGET_WORDS = ("bereit", "verfügung", "zu vergeben", "ausgestattet", "budget")


def _amount_kind(sentence: str, start: int, end: int) -> FactKind:
    """The kind of the amount at ``sentence[start:end]`` by the nearest cue word of its clause."""
    low = sentence.lower()
    best: tuple[int, FactKind] | None = None
    for words, kind in (
        (_COST_WORDS, FactKind.COST),
        (_FUNDING_WORDS, FactKind.FUNDING),
        (_BUDGET_WORDS, FactKind.BUDGET),
    ):
        for w in words:
            for m in re.finditer(re.escape(w), low):
                dist = start - m.end() if m.end() <= start else m.start() - end
                if dist < 0:
                    continue
                dist = dist if m.end() <= start else 3 * dist + 15  # German states the kind before the amount
                if best is None or dist < best[0]:
                    best = (dist, kind)
    return best[1] if best else FactKind.OTHER


def _kind_agreement(wanted: FactKind | None, got: FactKind | None) -> float:
    if wanted is None or got is None:
        return 1.0
    if wanted == got:
        return 1.0
    if wanted is FactKind.FUNDING:
        return {FactKind.BUDGET: 0.8, FactKind.OTHER: 0.6}.get(got, 0.0)
    if wanted is FactKind.COST:
        return {FactKind.OTHER: 0.6}.get(got, 0.0)
    return 0.6


_COUNT = re.compile(
    r"(?<![\d.,/])(?P<n>\d{1,3}(?:\.\d{3})+|\d+|(?i:zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf))"
    r"(?![.,]\d)\s+(?P<adj>(?:[a-zäöüß][\wäöüß-]*\s+){0,2})(?P<noun>[A-ZÄÖÜ][\wäöüß-]+)"
)
_LABEL_COUNT = re.compile(
    r"(?P<noun>[A-ZÄÖÜ][\wäöüß-]+)[^:\n|]{0,30}:\s*(?P<n>\d{1,3}(?:\.\d{3})+|\d+)(?![.,]?\d)(?!\s*(?:%|Prozent|Euro|EUR|€|Mio|Mrd))"
)
_NOT_COUNTED = re.compile(
    r"(?i)^(?:euro|eur|mio|mrd|millionen|milliarden|prozent|uhr|jahre?n?|monate?n?|tage?n?|wochen|ha|hektar|km|kilometer|m|meter|mw|kw|gw|quadratmeter|qm|stunden|minuten|prozentpunkte)\b"
)

_TITLE = r"(?:(?:Dr\.|Prof\.|Dipl\.-Ing\.)\s+)*"
_NAME_WORD = r"[A-ZÄÖÜ][a-zäöüß]+(?:-[A-ZÄÖÜ][a-zäöüß]+)?"
_PERSON = re.compile(rf"(?P<title>{_TITLE})(?P<name>{_NAME_WORD}\s+{_NAME_WORD})")
_SPEECH_BEFORE = re.compile(
    r"(?i)(?:sagt|sagte|erklärt|erklärte|betont|betonte|so|ergänzt|ergänzte|berichtet|berichtete|"
    r"ansprechpartner(?:in)?:?|kontakt:?|leitung:?|liegt bei|von|verantwortet|leitet|moderiert|begrüßte|"
    r"projektleiter(?:in)?:?|geschäftsführer(?:in)?)\s*$"
)
_ROLE_AFTER = re.compile(
    r"^\s*(?:,|\()\s*(?:die|der)?\s*(?:[\wäöüß-]*(?:in|er|leitung|leiter|leiterin|führer|führerin|manager|managerin|"
    r"referent|referentin|sprecher|sprecherin|beauftragte|beauftragter)\b|Projekt|Amt|Dezernat|Hochschule|Stadt|Kreis)"
)
_NOT_NAMES = frozenset(
    "Stadt Kreis Land Bund Gemeinde Projekt Vorhaben Programm Förderung Hochschule Universität Bezirksregierung "
    "Ministerium Europäische Union Just Transition Fund Business Metropole Ruhr Die Der Das Den Dem Ein Eine Im Am Mit "
    "Für Von Neue Neuen Grüne Grünen Bundesprogramm Landesprogramm Wirtschaft Klimaschutz".split()
)
_ORG_PATTERN = re.compile(
    r"(?:Bezirksregierung|Stadt|Gemeinde|Kreis|Stadtwerke|Handwerkskammer|Agentur für Arbeit|Hochschule|Universität|"
    r"Kreisverwaltung|Wirtschaftsförderung)\s+[A-ZÄÖÜ][\wäöüß-]+"
)
_PLACE_COMPOUND = re.compile(r"([A-ZÄÖÜ][\wäöüß]+)-([A-ZÄÖÜ][\wäöüß]+)")
_DISTRICT = re.compile(r"(?:Stadtteil|Ortsteil|Stadtbezirk)\s+([A-ZÄÖÜ][\wäöüß-]+)")


def _clean_value(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class _Sentence:
    doc_text_start: int  # offset of the sentence in the document text
    text: str
    context: str
    rank: int
    hit: Hit


def _sentences(hits: Sequence[Hit], limit: int) -> list[_Sentence]:
    out = []
    for rank, hit in enumerate(hits[:limit]):
        p = hit.passage
        spans = sentence_spans(p.text)
        head = " ".join((hit.doc.title or "", *p.heading_path))
        for i, (a, b) in enumerate(spans):
            prev = p.text[spans[i - 1][0] : spans[i - 1][1]] if i > 0 else ""
            nxt = p.text[spans[i + 1][0] : spans[i + 1][1]] if i + 1 < len(spans) else ""
            out.append(_Sentence(p.char_start + a, p.text[a:b], f"{head} {prev} {nxt}", rank, hit))
    return out


def _citation(s: _Sentence) -> Citation:
    d = s.hit.doc
    return Citation(
        doc_id=d.doc_id,
        source=d.source,
        url=d.url,
        title=d.title,
        page=s.hit.passage.page,
        char_start=s.doc_text_start,
        char_end=s.doc_text_start + len(s.text),
        quote=s.text,
    )


def candidates(
    question: Question, hits: Sequence[Hit], gazetteer: Gazetteer, register: Register | None = None, limit: int = 10
) -> list[Candidate]:
    """Every value of the asked type in the sentences of the best ``limit`` passages."""
    asked = question.asked
    if asked is None:
        return []
    kinds = _fact_kinds(register, hits[:limit]) if asked is Asked.AMOUNT else {}
    out: list[Candidate] = []
    place_ok_by_passage: dict[str, bool] = {}
    for s in _sentences(hits, limit):
        cite = _citation(s)
        pid = s.hit.passage.passage_id
        if pid not in place_ok_by_passage:
            place_ok_by_passage[pid] = _about_places(question, s.hit, gazetteer)
        place_ok = place_ok_by_passage[pid]

        def add(
            value: float | int | str,
            a: int,
            b: int,
            s: _Sentence = s,
            cite: Citation = cite,
            place_ok: bool = place_ok,
            **kw: Any,
        ) -> None:
            out.append(
                Candidate(
                    asked,
                    value,
                    _clean_value(s.text[a:b]),
                    cite,
                    s.doc_text_start + a,
                    s.doc_text_start + b,
                    s.rank,
                    passage_id=s.hit.passage.passage_id,
                    context=s.context,
                    place_ok=place_ok,
                    **kw,
                )
            )

        if asked is Asked.AMOUNT:
            for am in find_amounts(s.text):
                if am.low != am.high:
                    continue  # a range is no single answer
                fk = kinds.get((s.hit.doc.doc_id, s.doc_text_start + am.start)) or _amount_kind(
                    s.text, am.start, am.end
                )
                add(am.low, am.start, am.end, fact_kind=fk, cue=_kind_agreement(question.kind, fk))
        elif asked is Asked.DATE:
            found = find_dates(s.text)
            spans = [(a, b) for a, b, _ in found]
            for a, b, iso in found:
                add(iso, a, b, cue=_period_cue(question, s.text, a, found))
            for m in re.finditer(
                r"(?<![\w.,/])((?:19|20)\d\d)(?![\w.,/]?\d)(?!\s*(?:Euro|EUR|€|Mio|Mrd|Prozent|%))", s.text
            ):
                if not any(a <= m.start() < b for a, b in spans):
                    add(m.group(1), m.start(), m.end(), cue=0.8)
        elif asked is Asked.COUNT:
            dates = [(a, b) for a, b, _ in find_dates(s.text)]
            amounts = [(a.start, a.end) for a in find_amounts(s.text)]
            for m in _COUNT.finditer(s.text):
                if any(a <= m.start() < b for a, b in dates + amounts):
                    continue
                rest = s.text[m.start("adj") :]
                if _NOT_COUNTED.match(rest) or _NOT_COUNTED.match(m.group("noun")):
                    continue
                raw = m.group("n")
                n = _NUMBER_WORDS.get(raw.lower()) or int(raw.replace(".", ""))
                if re.fullmatch(r"(?:19|20)\d\d", raw):
                    continue
                noun = _noun_stem(m.group("noun"))
                add(n, m.start("n"), m.end("n"), noun=noun, cue=_noun_agreement(question.count_noun, noun))
            for m in _LABEL_COUNT.finditer(s.text):
                if any(a <= m.start("n") < b for a, b in dates + amounts):
                    continue
                raw = m.group("n")
                if re.fullmatch(r"(?:19|20)\d\d", raw):
                    continue
                noun = _noun_stem(m.group("noun"))
                add(
                    int(raw.replace(".", "")),
                    m.start("n"),
                    m.end("n"),
                    noun=noun,
                    cue=_noun_agreement(question.count_noun, noun),
                )
        elif asked is Asked.PERSON:
            for m in _PERSON.finditer(s.text):
                name = m.group("name")
                words = name.split()
                if (
                    any(w in _NOT_NAMES for w in words)
                    or gazetteer.find_places(name)
                    or gazetteer.find_organisations(name)
                ):
                    continue
                titled = bool(m.group("title").strip())
                before = s.text[max(0, m.start() - 40) : m.start()]
                after = s.text[m.end() : m.end() + 40]
                if not (titled or _SPEECH_BEFORE.search(before) or _ROLE_AFTER.match(after)):
                    continue
                add(name, m.start("name"), m.end("name"))
        elif asked is Asked.ORGANISATION:
            named = {fold(n) for n in question.place_names}
            seen: set[tuple[int, int]] = set()
            for org in gazetteer.find_organisations(s.text):
                okind = gazetteer.organisations[org.name].kind
                cue = 1.0
                if question.org_class and _ORG_CLASSES.get(question.org_class):
                    cue = 1.0 if okind in _ORG_CLASSES[question.org_class] else 0.5
                if fold(org.name) in fold(question.text) or fold(s.text[org.start : org.end]) in fold(question.text):
                    continue
                seen.add((org.start, org.end))
                add(org.name, org.start, org.end, cue=cue)
            for m in _ORG_PATTERN.finditer(s.text):
                if any(a <= m.start() < b for a, b in seen) or fold(m.group(0)) in fold(question.text):
                    continue
                if fold(m.group(0).split()[-1]) in named and m.group(0).split()[0] in ("Kreis", "Stadt", "Gemeinde"):
                    continue
                cue = 1.0
                if question.org_class and not _class_named(question.org_class, m.group(0)):
                    cue = 0.6
                add(m.group(0), m.start(), m.end(), cue=cue)
        elif asked is Asked.PLACE:
            qfold = fold(question.text)
            used: list[tuple[int, int]] = []
            for m in _PLACE_COMPOUND.finditer(s.text):
                if gazetteer.find_places(m.group(1)) and fold(m.group(0)) not in qfold:
                    used.append((m.start(), m.end()))
                    add(m.group(0), m.start(), m.end())
            for m in _DISTRICT.finditer(s.text):
                if fold(m.group(1)) not in qfold:
                    add(m.group(1), m.start(1), m.end(1))
            for pm in gazetteer.find_places(s.text):
                if any(a <= pm.start < b for a, b in used):
                    continue
                surface = s.text[pm.start : pm.end]
                if pm.ags in question.place_keys or fold(surface) in qfold:
                    continue
                if gazetteer.places[pm.ags].kind not in ("gemeinde", "kreisfreie_stadt"):
                    continue
                add(gazetteer.places[pm.ags].name, pm.start, pm.end, cue=0.7)
    return out


def _about_places(question: Question, hit: Hit, gazetteer: Gazetteer) -> bool:
    """Does the passage (or its document's title) name every place the question names (or a place in it)?"""
    if not question.place_keys:
        return True
    keys = set(hit.passage.annotations.place_keys)
    for m in gazetteer.find_places(hit.doc.title or ""):
        keys.update(gazetteer.expand_up(m.ags))
    return all(k in keys for k in question.place_keys)


def _period_cue(question: Question, sentence: str, start: int, found: Sequence[tuple[int, int, str]]) -> float:
    """ "bis wann" wants the end of a period ("bis zum 31. Dezember 2024"), "seit wann" its start."""
    before = sentence[max(0, start - 14) : start].lower()
    if question.period_end:
        if re.search(r"(?:bis|–|-|endet|ende)\s*(?:zum|am|ende)?\s*$", before):
            return 1.0
        return 0.6
    if question.period_start:
        if re.search(r"(?:seit|ab|start|beginn|begann|vom|von)\s*(?:dem|am|der|im)?\s*$", before):
            return 1.0
        return 0.6
    return 1.0


def _noun_stem(noun: str) -> str:
    parts = _stems(noun.split("-")[-1])
    return parts[-1] if parts else fold(noun)


def _noun_agreement(wanted: str | None, noun: str | None) -> float:
    if wanted is None or noun is None:
        return 0.6
    if _stem_match(wanted, noun):
        return 1.0
    for group in _NOUN_SYNONYMS:
        if any(_stem_match(wanted, g) for g in group) and any(_stem_match(noun, g) for g in group):
            return 0.9
    return 0.3


def _class_named(org_class: str, name: str) -> bool:
    """Does ``name`` say it is of ``org_class`` ("Agentur für Arbeit Hamm" is an Arbeitsagentur)?"""
    low = name.lower()
    if org_class == "arbeitsagentur":
        return "agentur für arbeit" in low
    return org_class in low


def _fact_kinds(register: Register | None, hits: Sequence[Hit]) -> dict[tuple[str, int], FactKind]:
    """(doc id, amount offset) -> the register's kind, for the documents of ``hits``."""
    if register is None:
        return {}
    docs = {h.doc.doc_id for h in hits}
    return {(f.fact.doc_id, f.fact.amount_start): f.fact.kind for f in register.facts if f.fact.doc_id in docs}


# --------------------------------------------------------------------------- scoring


def _weights(subject: Iterable[str], texts: Sequence[str]) -> dict[str, float]:
    """Rarer subject words weigh more: log(1 + n / (1 + df)) over the retrieved passages."""
    stemmed = [set(_stems(t)) for t in texts]
    n = max(len(texts), 1)
    out = {}
    for w in subject:
        df = sum(1 for st in stemmed if any(_stem_match(w, s) for s in st))
        out[w] = math.log(1 + n / (1 + df)) + 0.2
    return out


def _match_strength(word: str, stems: set[str]) -> float:
    """1 when ``stems`` hold the question's ``word`` or a compound of it ("zentrum" in
    "wasserstoffzentrum"); 0.5 when they hold only a part of it ("workshop" for "validierungsworkshop")."""
    if word in stems:
        return 1.0
    best = 0.0
    for s in stems:
        if len(word) >= 5 and len(s) > len(word) and (s.startswith(word) or s.endswith(word)):
            return 1.0
        if len(s) >= 5 and len(word) > len(s) and (word.startswith(s) or word.endswith(s)):
            best = 0.5
    return best


def _coverage(weights: dict[str, float], text: str) -> dict[str, float]:
    stems = set(_stems(text))
    return {w: m for w in weights if (m := _match_strength(w, stems)) > 0}


def score(
    question: Question, found: Sequence[Candidate], hits: Sequence[Hit], options: AnswerOptions = AnswerOptions()
) -> list[Scored]:
    """Candidates with their scores, best first."""
    if not found:
        return []
    texts = [h.passage.text for h in hits[: options.passages]]
    weights = _weights(question.subject, texts)
    total = sum(weights.values()) or 1.0
    prelim = []
    for c in found:
        in_sentence = _coverage(weights, c.citation.quote)
        in_context = _coverage(weights, c.context)
        overlap = sum(weights[w] * m for w, m in in_sentence.items()) / total
        context = sum(weights[w] * max(m - in_sentence.get(w, 0.0), 0.0) for w, m in in_context.items()) / total
        rank = 1.0 / (1.0 + c.rank / 3.0)
        base = options.w_overlap * overlap + options.w_context * context + options.w_rank * rank
        factor = c.cue * (1.0 if c.place_ok else options.place_penalty)
        prelim.append((c, base * factor, overlap))
    docs: dict[str, set[str]] = defaultdict(set)
    for c, _, overlap in prelim:
        if overlap >= 0.3 and c.cue > 0:
            docs[_key(c.value)].add(c.citation.doc_id)
    out = []
    for c, s, overlap in prelim:
        n = len(docs.get(_key(c.value), ()))
        out.append(Scored(c, s + options.w_agree * min(max(n - 1, 0), 2), overlap, n))
    out.sort(key=lambda x: (-x.score, x.candidate.rank, x.candidate.value_start))
    return out


def _key(value: float | int | str) -> str:
    if isinstance(value, float | int):
        return f"{float(value):.2f}"
    return " ".join(re.findall(r"[^\W_]+", fold(str(value))))


def answer(
    question: Question,
    hits: Sequence[Hit],
    gazetteer: Gazetteer,
    register: Register | None = None,
    options: AnswerOptions = AnswerOptions(),
) -> AnswerResult:
    """The best candidate when it is good enough and no other value comes close; else no answer."""
    found = candidates(question, hits, gazetteer, register, options.passages)
    ranked = score(question, found, hits, options)
    if not ranked:
        return AnswerResult(question, None, ())
    best = ranked[0]
    rival = next((r for r in ranked[1:] if _key(r.candidate.value) != _key(best.candidate.value)), None)
    if best.score < options.threshold or (rival is not None and best.score - rival.score < options.margin):
        return AnswerResult(question, None, tuple(ranked))
    c = best.candidate
    return AnswerResult(
        question,
        Answer(c.text, c.asked, c.value, c.citation, best.score, c.value_start, c.value_end, c.fact_kind, c.passage_id),
        tuple(ranked),
    )


def ask(
    question: str,
    searcher: Searcher,
    register: Register | None,
    request: SearchRequest | None = None,
    options: AnswerOptions = AnswerOptions(),
) -> tuple[AnswerResult, SearchResult]:
    """Search with the question (hybrid retrieval as configured in ``request``), then answer from the hits."""
    request = request or SearchRequest(query=question, k=max(10, options.passages))
    result = searcher.search(request)
    parsed = understand_question(question, searcher.gazetteer, register)
    return answer(parsed, result.hits, searcher.gazetteer, register, options), result
