"""Direct answers: a German "wie viel / wann / wie viele / wer / wo" question answered with one value and
its cited sentence, or not at all.

Three pure steps, no model and no I/O (``ask`` runs the hybrid search before and reads the text around the
best passages, ``DocumentText``, from the store):

1. ``understand_question`` reads what is asked: the type (amount, date, count, person, organisation,
   place), for amounts the kind (funding vs cost: "Zuschuss", "Fördergeld", "bewilligt" vs "kostet",
   "Gesamtkosten"; "insgesamt" alone), for dates the end of a period ("bis wann") or its start ("seit
   wann"), for counts the counted noun ("wie viele *Firmen*"), and the subject: the remaining content words
   (stems; lower-case verbs and adverbs weigh less than nouns), the places (gazetteer), programs (gazetteer
   aliases) and register projects the question names.
2. ``candidates`` reads values from the whole sentences around the best passages (a sentence the chunker
   cut is read from the document text; offsets stay exact): amounts and dates with the finders of
   ``core.textvalues`` (days without a year completed from the sentence or the document date), counts as
   number + noun, persons by simple German name patterns, organisations by the gazetteer and
   "Bezirksregierung X"-style names, places by the gazetteer and "Ort-Ortsteil" compounds (not inside a
   quoted name, and inside the area the question names). Amounts take their kind from the register's fact at
   the same offset, else from the nearest cue word. Each candidate keeps the words of its clause, its
   context (title, headings, the sentences before) and whether its sentence refers back to them ("Das
   Vorhaben …", "Davon …"). (The register's projects named in the question are recognised,
   ``Question.projects``, but not used: the name matching is loose, "Kraftwerk Scholven" matches the
   Lippholthausen project, so a bonus would invite wrong answers.)
3. ``score`` combines how much of the subject the sentence, its clause and its context state (weighted by
   rarity among the retrieved passages; the context counts less unless the sentence refers back), the
   retrieval rank of its passage, whether the counted noun, the amount's kind, the period or the asked role
   agree (a date's clause stating the asked kind of event: start, end, funding, cost, each in many German
   words, matched both ways: "Arbeit aufgenommen" / "Start"; a table cell read with its column name), and the
   scores other documents give the same value; it counts less when the sentence (or its
   section heading) names other places, programmes or years than the question, or lacks a long compound
   the question names, or names only part of a multi-word name of the question ("das Kraftwerk in
   Lippholthausen" for "Kraftwerk Scholven"), or states a total over many when one thing is asked ("Insgesamt
   stehen 45 Mio. Euro bereit" for one town). ``answer`` returns the best candidate (``pick``: a finer
   date of the same fact wins) when its score clears ``AnswerOptions.threshold`` and no candidate with
   another value comes within ``margin`` (a share of the best score); both were chosen by measurement on
   the answers collection (README, "Direkte Antworten").

A wrong number in a funding context is worse than none: when in doubt, no answer.
"""

from __future__ import annotations

import enum
import itertools
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property, lru_cache
from typing import Any

from core.analysis import fold, text_stems, tokenize
from core.facts import FactKind
from core.gazetteer import Gazetteer
from core.ids import passage_id_for, point_id_for
from core.models import Hit, Passage
from core.store.base import Store
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
    lowercase: frozenset[str] = frozenset()  # subject stems written in lower case (verbs, adverbs)
    names: tuple[str, ...] = ()  # stems of the words of the multi-word names the question names
    events: frozenset[str] = frozenset()  # the kinds of event the question names (start, end, funding, cost)


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
    refers_back: bool = False  # the sentence names its subject by reference ("Das Vorhaben", "Davon", "Dort")
    place_conflict: bool = False  # the sentence itself names towns, none of them one the question names
    heading: str = ""  # title and heading path of its passage
    near: str = ""  # the words next to the value, up to the neighbouring values of the same type
    total_for_a_part: bool = False  # its clause states a total over many, the question asks about one thing
    contradicts: bool = False  # its clause says the opposite of a word of the question ("private" / "öffentliche")


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
    """Chosen by measurement on q001-q119 of evaluation/collections/answers (a small grid over the weights,
    then the threshold and margin that answer most questions right while wrong answers stay <= 4 % of all;
    README, "Direkte Antworten")."""

    passages: int = 10  # how many of the best passages are read
    second_retrieval: int = 4  # ... and how many more from a search with the question's subject words alone
    threshold: float = 0.36
    margin: float = 0.14  # another value within this share of the best score: no answer
    w_overlap: float = 0.6  # the subject in the candidate's own sentence
    w_context: float = 0.3  # ... in the title, headings and neighbouring sentences
    w_rank: float = 0.2  # retrieval rank of the passage
    w_agree: float = 0.1  # times the scores of the same value in (at most two) other documents
    place_penalty: float = 0.5  # factor when the passage is not about a place the question names
    w_local: float = 0.5  # the subject in the words next to the value (its clause)
    w_reference: float = 0.3  # the subject in the context when the sentence refers back to it (measured:
    # no better above w_context; referring back matters for the long-compound check)
    conflict_penalty: float = 0.5  # factor when the sentence names other places, programmes, years
    missing_penalty: float = 0.3  # factor when a long compound the question names is nowhere near
    lower_weight: float = 0.5  # weight of the question's lower-case words (verbs, adverbs) against its nouns
    total_penalty: float = 0.5  # factor when the clause states a total over many, the question asks about one

    @property
    def read(self) -> int:
        """How many hits an answer reads at most: the search's and the second search's."""
        return self.passages + self.second_retrieval


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
    "gab gibt es eigentlich denn fur uber "
    # auxiliaries and modals carry no subject ("Wann soll … in Betrieb gehen?")
    "soll sollen sollte wird werden wurde wurden ist sind war waren hat haben hab hatte hatten kann konnen darf "
    "muss man sich schon noch".split()
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
    return list(_stem_tuple(text))


@lru_cache(maxsize=4096)
def _stem_tuple(text: str) -> tuple[str, ...]:
    """The stems of a text, remembered: one question scores the same sentences and contexts for many
    candidates (measured at 100k passages: a fifth of an answer's time went to tokenising them again)."""
    return tuple(text_stems(text))


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
    elif re.search(
        r"\bwie\s*viel\b|\bwie hoch\b|\bwas kost|^\s*was\b.*\bgekostet\b|\bwie teuer\b|\bfördersumme\b|\bhöhe\b", low
    ):
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
        strong_cost = any(c in low for c in _COST_CUES if c != "insgesamt")
        if strong_cost and not re.search(r"förder|zuschuss|zuwendung", low):
            kind = FactKind.COST
        elif any(c in low for c in _FUNDING_CUES):
            kind = FactKind.FUNDING  # "Wie viel Geld war insgesamt bewilligt?" asks for funding
        elif "insgesamt" in low:
            kind = FactKind.COST

    count_noun = None
    if asked is Asked.COUNT:
        m = re.search(r"\b[Ww]ie\s*viele\s+((?:[a-zäöüß-]+\s+){0,2}?)([A-ZÄÖÜ][\wäöüß-]*)", q)
        if m:
            noun = m.group(2)
            parts = _stems(noun.split("-")[-1])
            count_noun = parts[-1] if parts else None

    # typed questions may be lower case; in a capitalised one, a lower-case word is no place ("kamen zusammen")
    places = [p for p in gazetteer.find_places(q, ignore_case=True) if q[p.start].isupper() or q[1:].lower() == q[1:]]
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
    # German capitalises nouns and names: they say what the question is about; lower-case words (verbs,
    # adverbs: "mitgemacht", "höchstens") how it is asked
    lower = frozenset(
        t.stem for t in tokenize(q) if t.start > 0 and q[t.start].islower() and t.stem in subject
    ) - frozenset(t.stem for t in tokenize(q) if q[t.start].isupper())
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
        lowercase=lower,
        names=_names(q, gazetteer),
        events=events(q),
    )


# Two or more capitalised words in a row: German writes a common noun alone, a name of a facility, a site
# or an office as a run ("Kraftwerk Scholven", "Projektbüro Kraftwerk", "Schachtanlage Haus Aden").
_NAME_RUN = re.compile(r"(?<![\w-])[A-ZÄÖÜ][\wäöüß-]*(?:[ \t]+[A-ZÄÖÜ][\wäöüß-]*)+")


_TIME_WORDS = frozenset(
    "anfang mitte ende frühjahr sommer herbst winter januar februar märz april mai juni juli august september "
    "oktober november dezember".split()
)


def _names(question: str, gazetteer: Gazetteer) -> tuple[str, ...]:
    """The stems of the words of the multi-word names in ``question`` (not its first word, not places: they
    have their own rules). A sentence that names only some of them is about another thing of the same
    kind: "das Kraftwerk in Lippholthausen" is not the "Kraftwerk Scholven"."""
    out: list[str] = []
    places = [(p.start, p.end) for p in gazetteer.find_places(question)]
    for m in _NAME_RUN.finditer(question):
        words = list(re.finditer(r"\S+", m.group(0)))
        kept = [
            w.group(0)
            for w in words
            if m.start() + w.start() > 0
            and not any(a <= m.start() + w.start() < b for a, b in places)
            and fold(w.group(0)) not in _QUESTION_WORDS
            and w.group(0).lower() not in _TIME_WORDS
        ]
        if len(kept) >= 2:
            out.extend(s for w in kept for s in _stems(w) if len(s) >= 3)
    return tuple(dict.fromkeys(out))


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


def _ends_with_abbreviation(line: str) -> bool:
    """ "… (14,6 Mio." goes on in the next line ("EUR Förderung …")."""
    m = _LAST_WORD_DOT.search(line)
    return m is not None and m.group(1).lower() in _ABBREV


_LAST_WORD_DOT = re.compile(r"(\w+)\.$")
_PARAGRAPH = re.compile(r"\n\s*\n")
_BULLET = re.compile(r"[•\-–*▪]|(?:[a-z]|\d{1,2})\)\s")  # a bullet, "e) …", "3) …"
_LINE_ENDS_UNIT = re.compile(r"(?:[.!?:;€%)\d]|EUR|Euro)$")
_STARTS_UNIT = re.compile(r"[A-ZÄÖÜ„\"]")
_INLINE_BULLET = re.compile(r"\s[•▪]\s")
_FULL_STOP = re.compile(r"[.!?](?=[\s\"“”»]+[„\"»]?[A-ZÄÖÜ0-9•])")
_WORD_BEFORE_STOP = re.compile(r"(\w+)\.?$")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, bullet item, list line or table row of ``text``.

    A single line break ends a unit when the line ends like a value or a sentence (".", ":", a digit,
    "€", ")") and the next one starts with a capital or a bullet, or when a line is a table row ("|");
    otherwise it is a wrapped line of a PDF and the sentence goes on.
    """
    cuts = {0, len(text)}
    for m in _PARAGRAPH.finditer(text):
        cuts.add(m.end())
    breaks = [m.start() for m in re.finditer("\n", text)]
    for i, at in enumerate(breaks):
        prev = text[breaks[i - 1] + 1 if i else 0 : at].rstrip()
        nxt = text[at + 1 : breaks[i + 1] if i + 1 < len(breaks) else len(text)].lstrip()
        if (
            "|" in prev
            or "|" in nxt
            or _BULLET.match(nxt)
            or (_LINE_ENDS_UNIT.search(prev) and _STARTS_UNIT.match(nxt) and not _ends_with_abbreviation(prev))
        ):
            cuts.add(at + 1)
    for m in _INLINE_BULLET.finditer(text):
        cuts.add(m.start() + 1)
    for m in _FULL_STOP.finditer(text):
        before = _WORD_BEFORE_STOP.search(text[max(0, m.start() - 20) : m.start() + 1])
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


# A programme's budget ("stehen 45 Mio. Euro bereit") is what a funding question may mean, but is not what
# one recipient got.
BUDGET_FOR_FUNDING = 0.6


def _stated_kind(sentence: str, start: int, amounts: Sequence[tuple[int, int]]) -> FactKind | None:
    """The kind the words just before an amount state, back to the previous amount or clause: "Von den
    Gesamtkosten über 1,2 Millionen Euro trägt das Programm 1,08 Millionen Euro" -> cost, then funding;
    None when those words name neither or both."""
    lo = max([b for _, b in amounts if b <= start] + [sentence.rfind(";", 0, start) + 1, 0])
    words = sentence[lo:start].lower()
    cost = any(w in words for w in _COST_WORDS)
    funding = any(w in words for w in _FUNDING_WORDS)
    if cost != funding:
        return FactKind.COST if cost else FactKind.FUNDING
    return None


def _kind_agreement(wanted: FactKind | None, got: FactKind | None) -> float:
    if wanted is None or got is None:
        return 1.0
    if wanted == got:
        return 1.0
    if wanted is FactKind.FUNDING:
        return {FactKind.BUDGET: BUDGET_FOR_FUNDING, FactKind.OTHER: 0.6}.get(got, 0.0)
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
_DISTRICT = re.compile(r"(?:Stadtteil|Ortsteil|Stadtbezirk)(?:e?s)?\s+([A-ZÄÖÜ][\wäöüß-]+)")


def _clean_value(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class DocumentText:
    """The text of one document, or of a run of its passages, as far as its passages give it: passages are
    exact slices of the document text (``char_start``/``char_end``), separated by whitespace the chunker
    dropped. A gap of two or more characters was a paragraph break and is written as line breaks; a gap of
    one character (a sentence cut inside a paragraph) as a space, so offsets stay exact; only that one
    whitespace character may differ. ``text`` begins at document offset ``start`` (0 when the run begins
    with the document's first passage) and ends with the run's last passage: ``read_context`` reads a run
    past the end of a passage's window, so a window ends where the text ends only at the document's end."""

    doc_id: str
    text: str
    passages: tuple[Passage, ...]
    start: int = 0

    @classmethod
    def of(cls, passages: Iterable[Passage], *, whole: bool = True) -> DocumentText:
        """The text of ``passages``: all of a document's (``whole``), or a run of consecutive ones (then the
        text begins with the first of them, or at offset 0 when that is the document's first passage)."""
        ordered = sorted(passages, key=lambda p: p.char_start)
        start = 0 if whole or not ordered or ordered[0].ordinal == 0 else ordered[0].char_start
        parts: list[str] = []
        end = start
        for p in ordered:
            if p.char_start < end:  # overlapping passages: keep what is new
                parts.append(p.text[end - p.char_start :])
            else:
                gap = p.char_start - end
                parts.append(" " if gap == 1 else "\n" * gap)
                parts.append(p.text)
            end = max(end, p.char_end)
        return cls(ordered[0].doc_id if ordered else "", "".join(parts), tuple(ordered), start)

    @property
    def end(self) -> int:
        """The document offset where ``text`` ends."""
        return self.start + len(self.text)

    def holds(self, p: Passage) -> bool:
        """Is ``p`` in this text at its offsets?"""
        return self.start <= p.char_start and self.text[p.char_start - self.start : p.char_end - self.start] == p.text


@dataclass(frozen=True)
class _Sentence:
    doc_text_start: int  # offset of the sentence in the document text
    text: str
    context: str
    rank: int
    hit: Hit
    refers_back: bool = False
    heading: str = ""  # the document title and the passage's heading path
    header: str = ""  # a table row: the first row of its table (the column names)


_CONTEXT_BEFORE = 2  # sentences before the candidate's own that may name its subject ("Das Projekt …")
# A German sentence that names its subject by reference to what came before: an anaphoric noun phrase
# ("Das Vorhaben kostet …", "Die Gesamtkosten des Projekts …"), a pronominal adverb ("Davon trägt …",
# "Dort entsteht …") or a personal / demonstrative pronoun ("Sie läuft bis …", "Dieses wird …").
_REFERENCE_NOUNS = (
    r"Projekts?|Vorhabens?|Programms?|Zentrums?|Studie|Vorstudie|Förderung|Maßnahme|Anlage|Technikums?|Büros?|"
    r"Geländes?|Fläche|Bescheids?|Workshops?|Befragung|Verbunds?|Netzwerks?|Hubs?|Campus|Konzepts?|Standorts?|"
    r"Baus?|Umbaus?|Neubaus?|Stadt|Kommune|Gemeinde|Kreis(?:es)?|Teams?|Bericht(?:s|es)?|Aufrufs?|Wettbewerbs?"
)
_REFERS_BACK = re.compile(
    rf"^(?:[-•▪*]\s*)?(?:(?:[\wäöüß]+\s+){{0,4}}?(?:(?:das|die|der|des|dem|den|dieses|diese[rsmn]?|"
    rf"ihre[rsmn]?|seine[rsmn]?)\s+(?:{_REFERENCE_NOUNS})\b(?!\s*(?-i:[„A-ZÄÖÜ])))|(?:Davon|Dafür|Dazu|Dort|Hier|Damit|Darin|Daran|"
    rf"Dabei|Sie|Er|Es|Dies|Diese[rsmn]?|Insgesamt|Außerdem|Zudem)\b)",
    re.IGNORECASE,
)


def refers_back(sentence: str) -> bool:
    """Does ``sentence`` name its subject by reference to the sentences before it (within its first words)?"""
    return bool(_REFERS_BACK.match(sentence.strip()))


WINDOW_BEFORE = 1500  # characters of the document text read before a passage (its cut sentence, the context)
WINDOW_AFTER = 600  # ... and after it


def _sentences(hits: Sequence[Hit], limit: int, documents: Mapping[str, DocumentText] | None = None) -> list[_Sentence]:
    """The sentences of the best ``limit`` passages. With the ``documents`` (the text around each passage,
    by passage id, ``read_context``, or a document's whole text by doc id),
    a sentence cut by a passage boundary is read whole, and the sentences before it in the document are
    part of its context; without, only the passage's own text is used."""
    out = []
    documents = documents or {}
    for rank, hit in enumerate(hits[:limit]):
        p = hit.passage
        head = " ".join((hit.doc.title or "", *p.heading_path))
        doc = documents.get(p.passage_id) or documents.get(p.doc_id)
        if doc is not None and doc.holds(p):
            src, base = doc.text, doc.start
            lo, hi = max(doc.start, p.char_start - WINDOW_BEFORE), min(doc.end, p.char_end + WINDOW_AFTER)
            spans = [(lo + a, lo + b) for a, b in sentence_spans(src[lo - base : hi - base])]
            # the window's first and last units may be cut by the window itself
            spans = [(a, b) for a, b in spans if (a > lo or lo == 0) and (b < hi or hi == doc.end)]
        else:
            src, base = p.text, p.char_start
            spans = [(base + a, base + b) for a, b in sentence_spans(src)]
        for i, (a, b) in enumerate(spans):
            if b <= p.char_start or a >= p.char_end:
                continue  # not in the passage
            before = " ".join(src[x - base : y - base] for x, y in spans[max(0, i - _CONTEXT_BEFORE) : i])
            nxt = src[spans[i + 1][0] - base : spans[i + 1][1] - base] if i + 1 < len(spans) else ""
            text = src[a - base : b - base]
            header = ""
            if "|" in text:
                first = i
                while first > 0 and "|" in src[spans[first - 1][0] - base : spans[first - 1][1] - base]:
                    first -= 1
                top = src[spans[first][0] - base : spans[first][1] - base]
                # only a table of three or more columns has column names; two are label | value
                if first < i and top.count("|") >= 2 and top.count("|") == text.count("|"):
                    header = top
            out.append(_Sentence(a, text, f"{head} {before} {nxt}", rank, hit, refers_back(text), head, header))
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


class _Checks:
    """What the candidates of one sentence share, worked out when the first candidate is found (most
    sentences an answer reads hold none): its citation, whether its passage is about the question's places,
    whether it names other towns, programmes or years, and the spans of the values of the asked type."""

    def __init__(self, question: Question, s: _Sentence, gazetteer: Gazetteer, place_ok: dict[str, bool]) -> None:
        self.question, self.s, self.gazetteer, self._place_ok = question, s, gazetteer, place_ok

    @cached_property
    def citation(self) -> Citation:
        return _citation(self.s)

    @property
    def place_ok(self) -> bool:
        """The passage (or its document's title) names the question's places: once per passage."""
        pid = self.s.hit.passage.passage_id
        if pid not in self._place_ok:
            self._place_ok[pid] = _about_places(self.question, self.s.hit, self.gazetteer)
        return self._place_ok[pid]

    @cached_property
    def conflict(self) -> bool:
        q, s, gazetteer = self.question, self.s, self.gazetteer
        # a sentence that names no place is about the place of its section ("4.3 Hamm")
        section = s.hit.passage.heading_path[-1] if s.hit.passage.heading_path else ""
        return (
            _names_other_towns(q, s.text, gazetteer)
            or (not gazetteer.find_places(s.text) and _names_other_towns(q, section, gazetteer))
            or _names_other_programs(q, s.text, s.heading, gazetteer)
            or _names_other_years(q, s.text)
        )

    @cached_property
    def value_spans(self) -> list[tuple[int, int]]:
        assert self.question.asked is not None
        return _value_spans(self.question.asked, self.s.text, self.gazetteer)


def candidates(
    question: Question,
    hits: Sequence[Hit],
    gazetteer: Gazetteer,
    register: Register | None = None,
    limit: int = 10,
    documents: Mapping[str, DocumentText] | None = None,
) -> list[Candidate]:
    """Every value of the asked type in the sentences of the best ``limit`` passages."""
    asked = question.asked
    if asked is None:
        return []
    kinds = _fact_kinds(register, hits[:limit]) if asked is Asked.AMOUNT else {}
    gazetteer = gazetteer.remembering()  # each sentence is read for places several times
    out: list[Candidate] = []
    place_ok_by_passage: dict[str, bool] = {}
    for s in _sentences(hits, limit, documents):
        checks = _Checks(question, s, gazetteer, place_ok_by_passage)

        def add(
            value: float | int | str, a: int, b: int, s: _Sentence = s, checks: _Checks = checks, **kw: Any
        ) -> None:
            near = _near(s.text, a, b, checks.value_spans)
            if s.header:  # a table cell: its column's name says what the value is ("Bewilligung | 2022")
                column = s.text.count("|", 0, a)
                names = s.header.split("|")
                near = (names[column].strip() + " " if column < len(names) else "") + near
            out.append(
                Candidate(
                    asked,
                    value,
                    _clean_value(s.text[a:b]),
                    checks.citation,
                    s.doc_text_start + a,
                    s.doc_text_start + b,
                    s.rank,
                    passage_id=s.hit.passage.passage_id,
                    context=s.context,
                    place_ok=checks.place_ok,
                    refers_back=s.refers_back,
                    place_conflict=checks.conflict or _names_other_towns(question, near, gazetteer),
                    total_for_a_part=_total_for_a_part(question, near, s.text, gazetteer),
                    contradicts=_contradicts(question, near, s.text, a),
                    heading=s.heading,
                    near=near,
                    **kw,
                )
            )

        if asked is Asked.AMOUNT:
            for am in find_amounts(s.text):
                if am.low != am.high:
                    continue  # a range is no single answer
                fk = (
                    _stated_kind(s.text, am.start, checks.value_spans)
                    or kinds.get((s.hit.doc.doc_id, s.doc_text_start + am.start))
                    or _amount_kind(s.text, am.start, am.end)
                )
                add(am.low, am.start, am.end, fact_kind=fk, cue=_kind_agreement(question.kind, fk))
        elif asked is Asked.DATE:
            # "seit den 1960er-Jahren": a decade is no date
            found = [d for d in find_dates(s.text) if not s.text.startswith("er", d[1])]
            spans = [(a, b) for a, b, _ in found]
            for a, b, iso in found:
                add(iso, a, b, cue=_period_cue(question, s.text, a, found))
            for a, b, iso in day_without_year(s.text, s.hit.doc.date):
                if not any(x <= a < y for x, y in spans):
                    add(iso, a, b, cue=0.9 * _period_cue(question, s.text, a, found))
            for m in re.finditer(
                r"(?<![\w.,/])((?:19|20)\d\d)(?![\w.,/]?\d)(?!er)(?!\s*(?:Euro|EUR|€|Mio|Mrd|Prozent|%))", s.text
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
                    or fold(name) in fold(question.text)  # what the question names is not its answer
                    or gazetteer.find_places(name)
                    or gazetteer.find_organisations(name)
                ):
                    continue
                titled = bool(m.group("title").strip())
                before = s.text[max(0, m.start() - 40) : m.start()]
                after = s.text[m.end() : m.end() + 40]
                if not (titled or _SPEECH_BEFORE.search(before) or _ROLE_AFTER.match(after)):
                    continue
                add(name, m.start("name"), m.end("name"), cue=_role_agreement(question.text, s.text))
        elif asked is Asked.ORGANISATION:
            named = {fold(n) for n in question.place_names}
            seen: set[tuple[int, int]] = set()
            for org in gazetteer.find_organisations(s.text):
                okind = gazetteer.organisations[org.name].kind
                cue = 1.0
                if question.org_class and (classes := _ORG_CLASSES.get(question.org_class)) is not None:
                    named_as = _class_named(question.org_class, org.name) or _class_named(
                        question.org_class, s.text[org.start : org.end]
                    )
                    if classes or question.org_class in ("arbeitsagentur",):
                        cue = 1.0 if okind in classes or named_as else 0.5
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
            # "Datteln-Hamm-Kanal", "Rhein-Herne-Straße": the towns in the name of a waterway or a street
            used: list[tuple[int, int]] = [(m.start(), m.end()) for m in _FEATURE_NAME.finditer(s.text)]
            listed = _enumerated(checks.value_spans, s.text)
            for m in _PLACE_COMPOUND.finditer(s.text):
                if any(a <= m.start() < b for a, b in used):
                    continue
                if (town := gazetteer.find_places(m.group(1))) and fold(m.group(0)) not in qfold:
                    used.append((m.start(), m.end()))
                    cue = _inside(question, town[0].ags, gazetteer)
                    cue *= LISTED if (m.start(1), m.end(1)) in listed else 1.0
                    add(m.group(0), m.start(), m.end(), cue=cue)
            for m in _DISTRICT.finditer(s.text):
                if fold(m.group(1)) not in qfold:
                    add(m.group(1), m.start(1), m.end(1))
            quoted = [(m.start(), m.end()) for m in re.finditer(r"„[^“”\"]{1,80}[“”\"]", s.text)]
            for pm in gazetteer.find_places(s.text):
                if any(a <= pm.start < b for a, b in used + quoted):
                    continue  # in a compound already read, or part of a quoted name („EcoTecHub Bergkamen“)
                surface = s.text[pm.start : pm.end]
                if pm.ags in question.place_keys or fold(surface) in qfold:
                    continue
                if gazetteer.places[pm.ags].kind not in ("gemeinde", "kreisfreie_stadt"):
                    continue
                cue = 0.7 * _inside(question, pm.ags, gazetteer) * (LISTED if (pm.start, pm.end) in listed else 1.0)
                add(gazetteer.places[pm.ags].name, pm.start, pm.end, cue=cue)
    return out


_FEATURE_NAME = re.compile(
    r"[A-ZÄÖÜ][\wäöüß]*(?:-[A-ZÄÖÜ][\wäöüß]*)*-(?:[A-ZÄÖÜ][\wäöüß]*)?"
    r"(?:[Kk]anal|[Ss]traße|[Ss]trasse|[Ww]eg|[Pp]latz|[Pp]ark|[Hh]afen|[Bb]ahn|[Aa]llee|[Rr]ing|[Bb]rücke|"
    r"[Bb]ahnhof|[Uu]fer|[Gg]asse|[Dd]amm)\b"
)
LISTED = 0.5  # a place in an enumeration ("Duisburg, Gelsenkirchen, Hamm und Kreis Unna") is not where one thing is
_LIST_LINK = re.compile(r"\s*(?:,|und|sowie|oder)\s*(?:(?:die|der|den|dem)\s+)?(?:(?:Stadt|Kreis|Gemeinde)\s+)?")


def _enumerated(spans: Sequence[tuple[int, int]], sentence: str) -> set[tuple[int, int]]:
    """The places of ``spans`` that stand in an enumeration of three or more, joined by commas and "und"."""
    ordered = sorted(set(spans))
    out: set[tuple[int, int]] = set()
    run = ordered[:1]
    for prev, cur in itertools.pairwise(ordered):
        if _LIST_LINK.fullmatch(sentence[prev[1] : cur[0]]):
            run.append(cur)
            continue
        if len(run) >= 3:
            out.update(run)
        run = [cur]
    if len(run) >= 3:
        out.update(run)
    return out


def _inside(question: Question, ags: str, gazetteer: Gazetteer) -> float:
    """1 when the place lies in the places the question names (or it names none); 0.3 otherwise: "Wo im
    Kreis Unna …" is not answered by Marl."""
    if not question.place_keys or set(question.place_keys) & set(gazetteer.expand_up(ags)):
        return 1.0
    return 0.3


def _about_places(question: Question, hit: Hit, gazetteer: Gazetteer) -> bool:
    """Does the passage (or its document's title) name every place the question names (or a place in it)?"""
    if not question.place_keys:
        return True
    keys = set(hit.passage.annotations.place_keys)
    for m in gazetteer.find_places(hit.doc.title or ""):
        keys.update(gazetteer.expand_up(m.ags))
    return all(k in keys for k in question.place_keys)


_PROGRAMME_WORD = re.compile(r"\b[A-ZÄÖÜ][\wäöüß-]*[Pp]rogramm(?:s|es)?\b")
_GENERIC_PROGRAMMES = frozenset({"förderprogramm", "programm", "landesprogramm", "bundesprogramm", "eu-programm"})


def _programmes(text: str, gazetteer: Gazetteer) -> set[str]:
    """Programmes named in ``text``: the gazetteer's by canonical name, other "…programm" words folded."""
    found = {m.name for m in gazetteer.find_programs(text)}
    spans = [(m.start, m.end) for m in gazetteer.find_programs(text)]
    for m in _PROGRAMME_WORD.finditer(text):
        word = m.group(0).lower().rstrip("s") if m.group(0).endswith("ms") else m.group(0).lower()
        if word.rstrip("e") in _GENERIC_PROGRAMMES or word in _GENERIC_PROGRAMMES:
            continue
        if not any(a <= m.start() < b for a, b in spans):
            found.add(fold(m.group(0)))
    return found


_MONTHS = {
    m: i + 1
    for i, m in enumerate("januar februar märz april mai juni juli august september oktober november dezember".split())
}
_DAY_MONTH = re.compile(r"(?<![\d.])(\d{1,2})\.\s*(" + "|".join(_MONTHS) + r")\b(?!\s*(?:19|20)\d\d)", re.IGNORECASE)


def day_without_year(sentence: str, doc_date: str | None) -> list[tuple[int, int, str]]:
    """Days written without their year ("am 20. März", "vom 13. Mai bis 28. Juni 2024"), completed by the
    next year the sentence names after them, else by the year of the document's date; else left out."""
    out = []
    for m in _DAY_MONTH.finditer(sentence):
        later = re.search(r"(?<!\d)((?:19|20)\d\d)(?!\d)", sentence[m.end() :])
        year = later.group(1) if later else (doc_date[:4] if doc_date and re.match(r"\d{4}", doc_date) else None)
        if year is None:
            continue
        try:
            iso = date(int(year), _MONTHS[m.group(2).lower()], int(m.group(1))).isoformat()
        except ValueError:
            continue
        out.append((m.start(), m.end(), iso))
    return out


def _names_other_programs(question: Question, sentence: str, heading: str, gazetteer: Gazetteer) -> bool:
    """The question names a programme, the sentence (or, when it names none, its title and headings) names
    others but not it: "aus dem Regionalen Wirtschaftsförderungsprogramm" does not answer "aus dem
    5-StandorteProgramm", a table in a report on the 5-StandorteProgramm does not answer a STARK question."""
    if not question.programs:
        return False
    named = _programmes(sentence, gazetteer) or _programmes(heading, gazetteer)
    return bool(named) and not named & set(question.programs)


_YEAR = re.compile(r"(?<![\d.,])(?:19|20)\d\d(?![\d.,]?\d)")


def _names_other_years(question: Question, sentence: str) -> bool:
    """The question pins a year ("Ende 2022"), the sentence is dated by other years only ("Für 2023 …")."""
    if question.asked is Asked.DATE:
        return False
    months = "Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"
    # "laut Lenkungskreis vom September 2023" dates a source, not the value
    wanted = {
        m.group(0)
        for m in _YEAR.finditer(question.text)
        if not re.search(rf"(?:{months})\s*$", question.text[: m.start()])
    }
    if not wanted:
        return False
    named = set(_YEAR.findall(sentence))
    return bool(named) and not named & wanted


_NEAR_CHARS = 60


def _value_spans(asked: Asked, sentence: str, gazetteer: Gazetteer) -> list[tuple[int, int]]:
    """Where the sentence states values of the asked type (amounts, dates, numbers, names)."""
    if asked is Asked.ORGANISATION:
        found = [(m.start, m.end) for m in gazetteer.find_organisations(sentence)]
        return found + [(m.start(), m.end()) for m in _ORG_PATTERN.finditer(sentence)]
    if asked is Asked.PERSON:
        return [(m.start("name"), m.end("name")) for m in _PERSON.finditer(sentence)]
    if asked is Asked.PLACE:
        return [(m.start, m.end) for m in gazetteer.find_places(sentence)]
    if asked is Asked.AMOUNT:
        return [(a.start, a.end) for a in find_amounts(sentence)]
    if asked is Asked.DATE:
        found = [(a, b) for a, b, _ in find_dates(sentence)]
        years = [(m.start(), m.end()) for m in _YEAR.finditer(sentence)]  # "ging 2013 in Betrieb und wurde 2021 …"
        return found + [y for y in years if not any(a <= y[0] < b for a, b in found)]
    if asked is Asked.COUNT:
        return [(m.start(), m.end()) for m in re.finditer(r"\d+(?:\.\d{3})*", sentence)]
    return []


# Two values joined into one range ("vom 1. Dezember 2023 bis zum 31. Dezember 2024") share their words.
_RANGE_LINK = re.compile(r"\s*(?:bis(?: zum| zur| Ende| einschließlich)?|–|-|und)\s*")


def _near(sentence: str, start: int, end: int, others: Sequence[tuple[int, int]]) -> str:
    """The words around ``sentence[start:end]`` that belong to this value: up to ``_NEAR_CHARS`` each side,
    not past another value of the same type ("beauftragt im Dezember 2022, Ergebnisse seit Juni 2023")."""
    lo, hi = max(0, start - _NEAR_CHARS), min(len(sentence), end + _NEAR_CHARS)
    # a clause ends at ";" or ", " (not a decimal comma); a value in brackets belongs to the words just
    # before the bracket
    lo = max(lo, sentence.rfind(";", 0, start) + 1, sentence.rfind(", ", 0, start) + 1)
    for stop in (";", ", "):
        if (at := sentence.find(stop, end)) >= 0:
            hi = min(hi, at)
    opened, closed = sentence.rfind("(", 0, start), sentence.rfind(")", 0, start)
    if opened > closed:
        lo = max(lo, sentence.rfind(",", 0, opened) + 1, opened - 40)
        if (close := sentence.find(")", end)) >= 0:
            hi = min(hi, close)
    for a, b in others:
        if b <= start and not _RANGE_LINK.fullmatch(sentence[b:start]):
            lo = max(lo, b)
        elif a >= end and not _RANGE_LINK.fullmatch(sentence[end:a]):
            hi = min(hi, a)
    if lo >= hi:
        return ""
    return sentence[lo:start] + " " + sentence[end:hi]


_AREA = re.compile(r"\b(?:in der Region|in der gesamten Region|landesweit|bundesweit|europaweit)\b", re.IGNORECASE)


def _names_other_towns(question: Question, sentence: str, gazetteer: Gazetteer) -> bool:
    """The sentence names towns or Kreise and none of them is, or lies in, a place the question names:
    "Der Förderbescheid für Lünen-Lippholthausen …" does not answer a question about Werne, "Kreis Unna mit
    rund 395.000 Einwohnern" not one about Selm."""
    if not question.place_keys:
        return False
    wanted = set(question.place_keys)
    towns = [m.ags for m in gazetteer.find_places(sentence)]
    if not towns:
        # a value "in der Region" or "landesweit" is not the value of the town the question names
        return bool(_AREA.search(sentence)) and any(
            gazetteer.places[k].kind in ("gemeinde", "kreisfreie_stadt") for k in wanted if k in gazetteer.places
        )
    # a town in a wanted place is about it; a Kreis around a wanted town is not (its value is the Kreis's)
    return not any(wanted & set(gazetteer.expand_up(t)) for t in towns)


# A start or an end stated by the verb after the date, within a few words ("wurde 2018 … gegründet").
_STARTED_AFTER = re.compile(
    r"^[^;,.]{0,60}?\b(?:gegründet|ins leben gerufen|gestartet|eingerichtet|eröffnet|begonnen|aufgenommen|"
    r"in betrieb genommen|gestartet)\b"
)
_ENDED_AFTER = re.compile(r"^[^;,.]{0,60}?\b(?:beendet|abgeschlossen|ausgelaufen|eingestellt|stillgelegt)\b")


PERIOD_MISS = 0.5  # a date not stated as the end (start) a question asks for


def _period_cue(question: Question, sentence: str, start: int, found: Sequence[tuple[int, int, str]]) -> float:
    """ "bis wann" wants the end of a period ("bis zum 31. Dezember 2024"), "seit wann" its start."""
    before = sentence[max(0, start - 14) : start].lower()
    after = sentence[start:].lower()
    after = after[after.find(" ") + 1 :] if " " in after else ""
    if question.period_end:
        if re.search(r"(?:bis|–|-|endet|ende)\s*(?:zum|am|ende)?\s*$", before):
            return 1.0
        if _ENDED_AFTER.match(after):
            return 1.0
        return PERIOD_MISS
    if question.period_start:
        if re.search(r"(?:seit|ab|start|beginn|begann)\s*(?:dem|am|der|im)?\s*$", before):
            return 1.0
        if _STARTED_AFTER.match(after):
            return 1.0  # "wurde 2018 von der Landesregierung ins Leben gerufen"
        if re.search(r"(?:vom|von)\s*(?:dem|am|der|im)?\s*$", before) and re.search(r"\bbis\b", sentence[start:]):
            return 1.0  # "vom 13. Mai bis 28. Juni 2024"; "vom Dezember 2021" alone dates a report
        return PERIOD_MISS
    return 1.0


# The role a "wer" question asks for, and the stems a sentence uses to state it.
_ROLES = (
    (r"bürgermeister", ("bürgermeister",)),
    (r"leite|leiter|leitung", ("leit",)),
    (r"geschäftsführ|geschäfte", ("geschäftsführ", "geschäfte")),
    (r"koordin", ("koordin",)),
    (r"ansprechpart|kontakt|zuständig", ("ansprechpart", "kontakt", "zuständig")),
    (r"sprecher", ("sprecher",)),
    (r"vorsitz", ("vorsitz",)),
)


def _role_agreement(question: str, sentence: str) -> float:
    """1 when the question names no role or the sentence states it ("Wer leitet …" / "… leitet das Büro");
    0.5 when the sentence names a person without that role ("Stadt Lünen: Petra Wolsing (Stadtentwicklung)"
    for "Wer ist Bürgermeister von Lünen?")."""
    q, low = question.lower(), sentence.lower()
    for asked, stated in _ROLES:
        if re.search(asked, q):
            return 1.0 if any(w in low for w in stated) else 0.5
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


def _weights(
    subject: Iterable[str], texts: Sequence[str], lowercase: frozenset[str] = frozenset(), lower_weight: float = 1.0
) -> dict[str, float]:
    """Rarer subject words weigh more: log(1 + n / (1 + df)) over the retrieved passages; words the question
    writes in lower case (verbs, adverbs) by ``lower_weight``."""
    indexes = [stem_index(t) for t in texts]
    n = max(len(texts), 1)
    out = {}
    for w in sorted(subject):  # in one order, so that the sums of a score are the same in every process
        df = sum(1 for ix in indexes if ix.matches(w))
        out[w] = (math.log(1 + n / (1 + df)) + 0.2) * (lower_weight if w in lowercase else 1.0)
    return out


# German says one event with many verbs and nouns: "Arbeit aufgenommen" / "Start", "stillgelegt" / "vom Netz
# gegangen", "bewilligt" / "Förderbescheid". Stem prefixes (folded) of each kind, matched both ways, and the
# phrases of several words that state it in a text.
_EVENT_STEMS = {
    "start": (
        "start",
        "gestart",
        "beginn",
        "begonn",
        "begann",
        "aufgenomm",
        "aufnahm",
        "eroffn",
        "spatenstich",
        "inbetriebnahm",
        "gegrund",
        "grundung",
        "auftakt",
    ),
    "end": (
        "abgeschloss",
        "abschluss",
        "abschliess",
        "beend",
        "stillgelegt",
        "stillleg",
        "geschloss",
        "schliessung",
        "fertiggestellt",
        "fertigstell",
        "ausgelauf",
        "eingestellt",
    ),
    "funding": (
        "bewill",
        "forderbescheid",
        "bescheid",
        "zuwend",
        "zugesagt",
        "zusag",
        "bereitgestellt",
        "bereitstell",
        "gefordert",
        "fordert",
        "zuschuss",
    ),
    "cost": ("kost", "gekost", "investition", "investiert", "gesamtkost"),
}
_EVENT_PHRASES = {
    "start": r"in betrieb (?:genommen|gegangen|gehen|nehmen|geht)|ging\b[^.;]{0,40}\bin betrieb|ins leben gerufen",
    "end": r"vom netz|dicht ?gemacht|machte\b[^.;]{0,40}\bdicht\b|außer betrieb",
    # the date of the document itself ("Stand: 15.10.2024", "Herausgeber: …")
    "document": r"\bstand:|herausgeber|redaktionsschluss|veröffentlicht am",
}


@lru_cache(maxsize=65536)
def _event_of(stem: str) -> str | None:
    """The event a word names; a compound that only begins with one ("Gründungszentrum",
    "Bewilligungsbehörde") names a thing, not the event."""
    for event, prefixes in _EVENT_STEMS.items():
        if any(stem.startswith(p) and len(stem) - len(p) <= 3 for p in prefixes):
            return event
    return None


def events(text: str, stems: StemIndex | None = None) -> frozenset[str]:
    """The kinds of event ``text`` states: start, end, funding (approval), cost, the document's own date."""
    found = set((stems or stem_index(text)).events())
    low = text.lower()
    found.update(e for e, phrase in _EVENT_PHRASES.items() if re.search(phrase, low))
    return frozenset(found)


EVENT_MISS = 0.5  # a date whose clause states another kind of event than the question asks about


class StemIndex:
    """The stems of a text, laid out so that ``_match_strength`` and ``_weights`` look a question's word up
    instead of comparing it with every stem: a context holds a hundred stems and an answer scores thousands
    of (word, text) pairs (measured: two thirds of ``answer()``'s time went to those comparisons)."""

    __slots__ = ("_events", "_forms", "_joined", "stems")

    def __init__(self, stems: Iterable[str]) -> None:
        self.stems = frozenset(stems)
        # NUL never occurs in a stem: "\0word" finds the stems that begin with it, "word\0" those that end with it
        self._joined = "\0" + "\0".join(self.stems) + "\0"
        self._forms: tuple[dict[str, list[str]], dict[str, list[str]]] | None = None
        self._events: frozenset[str] | None = None

    def compound_of(self, word: str) -> bool:
        """A stem longer than ``word`` (5 letters or more) begins or ends with it."""
        return len(word) >= 5 and ("\0" + word in self._joined or word + "\0" in self._joined)

    def inside(self, word: str) -> bool:
        """``word`` is part of a stem (start, middle or end)."""
        return word in self._joined

    def matches(self, word: str) -> bool:
        """``_stem_match`` with one of the stems: the word itself, a compound of it, or a part of it."""
        return word in self.stems or self.compound_of(word) or self.part_of(word)

    def part_of(self, word: str) -> bool:
        """A stem of 5 letters or more, shorter than ``word``, begins or ends it."""
        return any(word[:k] in self.stems or word[-k:] in self.stems for k in range(5, len(word)))

    def form_of(self, word: str) -> bool:
        """Another form of ``word`` among the stems (``_derived`` or ``_variant``)."""
        if self._forms is None:  # built when first asked: most words are decided before
            by_start: dict[str, list[str]] = defaultdict(list)  # first 7 letters -> stems (``_derived``)
            by_head: dict[str, list[str]] = defaultdict(list)  # last 8 letters -> stems (``_variant``)
            for st in self.stems:
                if len(st) >= 7:
                    by_start[st[:7]].append(st)
                if len(st) >= 9:
                    by_head[st[-8:]].append(st)
            self._forms = by_start, by_head
        by_start, by_head = self._forms
        if len(word) >= 7 and any(_derived(word, st) for st in by_start.get(word[:7], ())):
            return True
        return len(word) >= 9 and any(_variant(word, st) for st in by_head.get(word[-8:], ()))

    def events(self) -> frozenset[str]:
        if self._events is None:
            self._events = frozenset(e for st in self.stems if (e := _event_of(st)))
        return self._events


def stem_index(text: str) -> StemIndex:
    return StemIndex(_stem_tuple(text))


def _match_strength(word: str, stems: StemIndex) -> float:
    """1 when ``stems`` hold the question's ``word`` or a compound of it ("zentrum" in
    "wasserstoffzentrum"); 0.75 when they hold it inside a compound ("betrieb" in "inbetriebnahme", 6 letters
    or more), another form of it ("koordiniert" / "koordination") or another word for the same event
    ("aufgenommen" / "Start"); 0.5 when they hold only a part of it ("workshop" for "validierungsworkshop")."""
    if word in stems.stems or stems.compound_of(word):
        return 1.0
    if (len(word) >= 6 and stems.inside(word)) or stems.form_of(word):
        return 0.75
    if (event := _event_of(word)) and event in stems.events():
        return 0.75
    return 0.5 if stems.part_of(word) else 0.0


def _variant(a: str, b: str) -> bool:
    """Two forms of one compound: the same head of at least 8 letters and the same first 4 letters
    ("infoveranstaltung" / "informationsveranstaltung")."""
    head = 0
    while head < min(len(a), len(b)) and a[-1 - head] == b[-1 - head]:
        head += 1
    return a != b and head >= 8 and a[:4] == b[:4] and len(a) > head and len(b) > head


def _derived(a: str, b: str) -> bool:
    """Two forms of one word: a shared start of at least 7 letters and short, different endings
    ("koordiniert" / "koordination"); not two compounds that share their first part."""
    n = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return n >= 7 and a != b and len(a) - n <= 5 and len(b) - n <= 5


def score(
    question: Question, found: Sequence[Candidate], hits: Sequence[Hit], options: AnswerOptions = AnswerOptions()
) -> list[Scored]:
    """Candidates with their scores, best first."""
    if not found:
        return []
    texts = [h.passage.text for h in hits[: options.read]]
    weights = _weights(question.subject, texts, question.lowercase, options.lower_weight)
    total = sum(weights.values()) or 1.0
    keys = tuple(dict.fromkeys((*_key_compounds(question), *question.names)))
    indexes: dict[str, StemIndex] = {}  # candidates of one sentence share their quote and context
    covered: dict[str, dict[str, float]] = {}

    def index(text: str) -> StemIndex:
        if text not in indexes:
            indexes[text] = stem_index(text)
        return indexes[text]

    def coverage(text: str) -> dict[str, float]:
        if text not in covered:
            covered[text] = {w: m for w in weights if (m := _match_strength(w, index(text))) > 0}
        return covered[text]

    prelim = []
    for c in found:
        in_sentence = coverage(c.citation.quote)
        in_context = coverage(c.context)
        overlap = sum(weights[w] * m for w, m in in_sentence.items()) / total
        context = sum(weights[w] * max(m - in_sentence.get(w, 0.0), 0.0) for w, m in in_context.items()) / total
        rank = 1.0 / (1.0 + c.rank / 3.0)
        w_context = options.w_reference if c.refers_back else options.w_context
        local = sum(weights[w] * m for w, m in coverage(c.near).items()) / total if c.near else 0.0
        base = options.w_overlap * overlap + w_context * context + options.w_rank * rank + options.w_local * local
        factor = c.cue * (1.0 if c.place_ok else options.place_penalty)
        if c.place_conflict:
            factor *= options.conflict_penalty
        if c.total_for_a_part:
            factor *= options.total_penalty
        if c.contradicts:
            factor *= options.conflict_penalty
        if _LIMIT.search(question.text) and not _LIMIT.search(c.near):
            factor *= LIMIT_MISS  # "höchstens" asks for a cap, not for what one project got
        if question.asked is Asked.DATE and question.events and (stated := events(c.near, index(c.near))):
            factor *= 1.0 if stated & question.events else EVENT_MISS  # (no event stated: measured no better)
        where = c.citation.quote + " " + c.heading + (" " + c.context if c.refers_back else "")
        if keys and not all(_match_strength(k, index(where)) >= 0.75 for k in keys):
            factor *= options.missing_penalty
        prelim.append((c, base * factor, overlap))
    # the same value stated for the same subject in other documents supports it: the best score it has
    # in each other document (at most two) adds, weighted
    by_doc: dict[str, dict[str, float]] = defaultdict(dict)
    for c, sc, _ in prelim:
        per_doc = by_doc[_key(c.value)]
        per_doc[c.citation.doc_id] = max(per_doc.get(c.citation.doc_id, 0.0), sc)
    out = []
    for c, sc, overlap in prelim:
        others = sorted((v for d, v in by_doc[_key(c.value)].items() if d != c.citation.doc_id), reverse=True)[:2]
        out.append(Scored(c, sc + options.w_agree * sum(others), overlap, 1 + len(others)))
    out.sort(key=lambda x: (-x.score, x.candidate.rank, x.candidate.value_start))
    return out


_TOTAL = re.compile(
    r"\b(?:programmvolumen|gesamtvolumen|fördervolumen|gesamtbudget|\w*aufruf\w*\s+mit|alle[nr]?\s+(?:projekte|vorhaben|maßnahmen|"
    r"standorte)|sämtliche[nr]?|(?:\d+|zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf)\s+(?:[a-zäöüß]+\s+)?"
    r"(?:projekte|vorhaben|maßnahmen|einzelprojekte)|(?:insgesamt|zusammen)\b[^.;]{0,40}\b(?:stehen|steht|bereit|"
    r"zur verfügung))\b",
    re.IGNORECASE,
)
_ASKS_TOTAL = re.compile(r"\b(?:insgesamt|zusammen|gesamt\w*|alle[nr]?)\b", re.IGNORECASE)


def _total_for_a_part(question: Question, near_text: str, sentence: str, gazetteer: Gazetteer) -> bool:
    """The question asks about one place or thing, the value's clause states a total over many ("Insgesamt
    stehen 45 Mio. Euro bereit", "sieben Projekte mit zusammen 47,5 Mio. Euro") without naming it: the
    programme's figure, not the one asked for. And the reverse: a question for a programme's total
    ("insgesamt", no place) is not answered by a sentence about one town's share. Counts are exempt."""
    if question.asked is Asked.COUNT:
        return False
    if _ASKS_TOTAL.search(question.text):
        # a programme's total: the share of one town or Kreis is a part ("… für den Kreis Unna")
        return bool(question.programs) and not question.place_keys and bool(gazetteer.find_places(sentence))
    if not _TOTAL.search(near_text):
        return False
    wanted = set(question.place_keys)
    if wanted and any(wanted & set(gazetteer.expand_up(m.ags)) for m in gazetteer.find_places(near_text)):
        return False
    keys = (*_key_compounds(question), *question.names)
    near = stem_index(near_text)
    named = [k for k in keys if _match_strength(k, near) >= 0.75]
    return bool(wanted or keys) and not named


# A question for a limit and the words that state one.
_LIMIT = re.compile(
    r"(?i)\b(?:höchstens|maximal|max\.|bis zu|obergrenze|höchstbetrag|höchstförder\w*|mindestens|minimal|"
    r"mindestbetrag|untergrenze)"
)
LIMIT_MISS = 0.5


# Adjectives of opposite meaning (stems): "An 18 Ladepunkten können private Fahrzeuge tanken" does not count
# the "öffentliche Ladepunkte".
_OPPOSITES = (("offent", "privat"), ("stationar", "mobil"), ("befrist", "unbefrist"))
# A plan or a target ("Ziel für 2023: zehn …", "sollen entstehen") does not say what was done.
_PLAN = re.compile(
    r"\b(?:ziel\w*|geplant\w*|plant|sollen|soll|erwartet|erwarten|vorgesehen|angestrebt\w*|prognos\w*)\b"
)
_PAST = re.compile(r"\b(?:war|waren|wurde|wurden|hatte|hatten|gab)\b")


def _contradicts(question: Question, near_text: str, sentence: str, start: int) -> bool:
    """The clause names the opposite of an adjective of the question and not the adjective itself, or a plan
    when the question asks (in the past tense) what was done."""
    q, near = set(_stems(question.text)), set(_stems(near_text))
    for a, b in _OPPOSITES:
        for mine, other in ((a, b), (b, a)):
            said = any(w.startswith(mine) for w in q) and not any(w.startswith(mine) for w in near)
            if said and any(w.startswith(other) for w in near):
                return True
    low = question.text.lower()
    clause = sentence[max(sentence.rfind(";", 0, start), sentence.rfind(", ", 0, start)) + 1 : start]
    return bool(_PAST.search(low)) and not _PLAN.search(low) and bool(_PLAN.search(f"{clause} {near_text}".lower()))


# Nouns that say what kind of value is asked, not what it is about.
_GENERIC_NOUNS = frozenset(
    "förderung fördergeld fördermittel fördersumme gesamtkosten zuschuss zuwendung investition investitionen "
    "finanzierung bundesgeld landesgeld planungsgeld eigenanteil förderquote bewilligung unternehmen "
    "teilnehmende teilnehmer beschäftigte arbeitsplätze einwohner insgesamt".split()
)


def _key_compounds(question: Question) -> tuple[str, ...]:
    """The long compound nouns of the question ("Wasserstofftankstelle", "Recyclingtechnikum"): the
    words that name its subject most precisely; an answer's sentence or context must name each of them
    (or a compound ending in it), not only its last part: a "Workshop" is not the "Validierungsworkshop"
    (stems; places and programs excluded)."""
    named = {fold(n) for n in (*question.place_names, *question.programs)}
    out = []
    for m in re.finditer(r"(?<![\w-])[A-ZÄÖÜ][a-zäöüß]{8,}(?![\w-])", question.text):
        if fold(m.group(0)) in named or any(fold(m.group(0)) in n for n in named):
            continue
        if m.group(0).lower() in _GENERIC_NOUNS or (question.count_noun and question.count_noun in fold(m.group(0))):
            continue
        out.extend(_stems(m.group(0)))
    return tuple(dict.fromkeys(out))


def pick(ranked: Sequence[Scored], margin: float) -> tuple[Scored, float]:
    """The best candidate of ``ranked`` (best first) and its lead over the best candidate with another value,
    as a share of its score (1 = no rival scores anything).

    A date at a finer precision that agrees with the best ("20. März 2024" for "März 2024") and scores
    within ``margin`` is the more precise statement of the same fact and is picked instead; values that
    agree that way are no rivals."""
    best = ranked[0]
    finer = [
        r for r in ranked[1:] if _refines(r.candidate.value, best.candidate.value) and best.score - r.score < margin
    ]
    if finer:
        best = max(finer, key=lambda r: (len(str(r.candidate.value)), r.score))
    rival = next(
        (r for r in ranked if r is not best and not _compatible(r.candidate.value, best.candidate.value)), None
    )
    if rival is None:
        return best, math.inf
    return best, (best.score - rival.score) / best.score if best.score > 0 else 0.0


def _refines(finer: float | int | str, coarser: float | int | str) -> bool:
    """ "2024-03-20" refines "2024-03" and "2024" (ISO dates of the same day, month or year)."""
    return (
        isinstance(finer, str)
        and isinstance(coarser, str)
        and bool(re.fullmatch(r"\d{4}(?:-\d\d){0,2}", finer))
        and len(finer) > len(coarser)
        and finer.startswith(coarser + "-")
    )


def _compatible(a: float | int | str, b: float | int | str) -> bool:
    """The same value, or two dates of which one refines the other: no rivals."""
    return _key(a) == _key(b) or _refines(a, b) or _refines(b, a)


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
    documents: Mapping[str, DocumentText] | None = None,
) -> AnswerResult:
    """The best candidate when it is good enough and no other value comes close; else no answer.
    ``documents`` (by doc id) give the text around the passages: whole sentences and their context."""
    found = candidates(question, hits, gazetteer, register, options.read, documents)
    ranked = score(question, found, hits, options)
    if not ranked:
        return AnswerResult(question, None, ())
    best, gap = pick(ranked, options.margin)
    if best.score < options.threshold or gap < options.margin:
        return AnswerResult(question, None, tuple(ranked))
    c = best.candidate
    return AnswerResult(
        question,
        Answer(c.text, c.asked, c.value, c.citation, best.score, c.value_start, c.value_end, c.fact_kind, c.passage_id),
        tuple(ranked),
    )


def read_context(store: Store, hits: Sequence[Hit]) -> dict[str, DocumentText]:
    """The text around each of ``hits``, by passage id: the run of its document's passages that covers the
    window ``_sentences`` reads (``WINDOW_BEFORE`` / ``WINDOW_AFTER`` characters), read by point id a few
    passages at a time. Reading whole documents cost 5 ms a question at 100k passages, and a 300-page report
    has about a thousand passages. The chunker numbers a document's passages 0, 1, 2, …: a number missing
    below a passage is a gap in the index (not written by this version), and that document is read whole."""
    known: dict[str, dict[int, Passage]] = defaultdict(dict)  # doc id -> ordinal -> passage
    absent: dict[str, set[int]] = defaultdict(set)  # ordinals asked for and not in the index
    for h in hits:
        known[h.doc.doc_id][h.passage.ordinal] = h.passage
    whole: set[str] = set()
    runs: dict[str, tuple[str, int, int]] = {}  # passage id -> (doc id, first ordinal, last ordinal)
    pending = list({h.passage.passage_id: h.passage for h in hits}.values())
    for reads in itertools.count():
        asked: dict[str, tuple[str, int]] = {}  # point id -> (doc id, ordinal)
        waiting = []
        for p in pending:
            if p.doc_id in whole:
                continue
            run = _run(p, known[p.doc_id], absent[p.doc_id])
            if run is None:
                whole.add(p.doc_id)
            elif isinstance(run, list):
                asked.update({point_id_for(passage_id_for(p.doc_id, o)): (p.doc_id, o) for o in run})
                waiting.append(p)
            else:
                runs[p.passage_id] = (p.doc_id, run[0], run[1])
        if not asked:
            break
        if reads == _CONTEXT_ROUNDS:  # still not covered: very short passages
            whole.update(p.doc_id for p in waiting)
            break
        found = store.fetch(list(asked))
        for point_id, (doc_id, ordinal) in asked.items():
            if point_id in found:
                known[doc_id][ordinal] = found[point_id][0]
            else:
                absent[doc_id].add(ordinal)
        pending = waiting
    out = {doc_id: DocumentText.of(p for p, _ in store.passages_of(doc_id)) for doc_id in whole}
    for passage_id, (doc_id, first, last) in runs.items():
        if doc_id not in whole:
            passages = [known[doc_id][o] for o in range(first, last + 1)]
            out[passage_id] = DocumentText.of(passages, whole=False)
    return out


_CONTEXT_ROUNDS = 3  # reads by id at most, then the document whole (one or two are the rule)
_MAX_STEP = 16  # passages asked for at once on one side of a passage


def _run(p: Passage, known: Mapping[int, Passage], absent: set[int]) -> tuple[int, int] | list[int] | None:
    """The first and last ordinal of the run of known passages around ``p`` that covers its window; else the
    ordinals to read next; None when a passage below is missing from the index (read the document whole)."""
    lo, hi = p.char_start - WINDOW_BEFORE, p.char_end + WINDOW_AFTER
    # how many to ask for: the characters still missing over the mean length of the passages known
    mean = max(1.0, sum(q.char_end - q.char_start for q in known.values()) / len(known))
    wanted: list[int] = []
    first = p.ordinal
    while first > 0 and known[first].char_start > lo:
        if first - 1 in absent:
            return None
        if first - 1 not in known:
            step = min(_MAX_STEP, 1 + math.ceil((known[first].char_start - lo) / mean))
            wanted += [o for o in range(first - 1, max(first - 1 - step, -1), -1) if o not in known]
            break
        first -= 1
    last = p.ordinal
    # strictly past the window's end, or the end of the document: a unit ending exactly at the window's
    # end is kept only at the document's end, so that must be known
    while known[last].char_end <= hi and last + 1 not in absent:
        if last + 1 not in known:
            step = min(_MAX_STEP, 1 + math.ceil((hi - known[last].char_end) / mean))
            wanted += [o for o in range(last + 1, last + 1 + step) if o not in known and o not in absent]
            break
        last += 1
    return wanted or (first, last)


def subject_query(question: str) -> str:
    """The question without its question words and auxiliaries: what it is about ("Wann hat das
    Transformationsbüro in Herne seine Arbeit aufgenommen?" -> "Transformationsbüro Herne Arbeit aufgenommen")."""
    words = re.findall(r"[\wäöüßÄÖÜ][\wäöüßÄÖÜ.-]*", question)
    kept = [w for w in words if fold(w) not in _QUESTION_WORDS and w.lower() not in _ARTICLES]
    return " ".join(kept) or question


_ARTICLES = frozenset(
    "der die das des dem den ein eine einer eines einem einen im in am an zum zur vom von mit".split()
)


def merge_hits(first: Sequence[Hit], second: Sequence[Hit], limit: int, extra: int) -> list[Hit]:
    """The best ``limit`` hits of the first retrieval, then up to ``extra`` hits of the second it did not find."""
    seen = {h.passage.passage_id for h in first[:limit]}
    added = [h for h in second if h.passage.passage_id not in seen][:extra]
    return [*first[:limit], *added]


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
    return answer_search(parsed, searcher, request, result.hits, register, options), result


def answer_search(
    question: Question,
    searcher: Searcher,
    request: SearchRequest,
    hits: Sequence[Hit],
    register: Register | None,
    options: AnswerOptions = AnswerOptions(),
) -> AnswerResult:
    """Answer ``question`` from the ``hits`` its search ``request`` found: the second search
    (``answer_hits``) and the text around the passages (``read_context``), as ``ask``, the API and the
    web page all read them."""
    hits = answer_hits(searcher, request, hits, options)
    return answer(question, hits, searcher.gazetteer, register, options, read_context(searcher.store, hits))


def answer_hits(
    searcher: Searcher, request: SearchRequest, hits: Sequence[Hit], options: AnswerOptions = AnswerOptions()
) -> list[Hit]:
    """The hits an answer reads: the best ``options.passages`` of the search, then up to
    ``options.second_retrieval`` more from a search (same filter) with the question's subject words alone, which
    finds passages the question words crowd out (measured on the answers collection: README)."""
    if not options.second_retrieval:
        return list(hits[: options.passages])
    # its best ``options.read`` hold the ``second_retrieval`` the first search's best ``passages`` lack: fetching
    # the full text of more (the page's k, 50 in the API) changes nothing
    subject = replace(request, query=subject_query(request.query), k=min(request.k, options.read))
    return merge_hits(hits, searcher.search(subject).hits, options.passages, options.second_retrieval)
