"""The direct-answer evaluation: the answers collection (``collections/answers/``) scored by its guideline.

Every question ends in one of three outcomes: **right** (a value, and it is correct), **wrong** (a value
that is not correct, or any value for a question without a direct answer) and **not answered**.
``value_correct`` is the guideline's rule ("What a correct answer is") and the only implementation of it:
``tests/evaluation/test_answers_collection.py`` imports it and the strict ``answer_text`` parsers from here.

``run_answers`` asks every question through ``search.answer.ask`` (``ask_all``) on the domain collection's
own index of ``corpus/sample`` (built or reused by ``evaluation.quality.eval_index.open_domain_index``) and reports
the outcomes per question type and overall; ``evaluation/gate_answers.toml`` pins floors and ceilings.
"""

from __future__ import annotations

import json
import re
import time
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import runtime
from core.model.embedding import Embedder
from core.settings import PROJECT_ROOT, Settings
from evaluation.quality.collection import files_sha256
from search.engine import Searcher
from search.register import Register

QUESTIONS = PROJECT_ROOT / "evaluation" / "collections" / "answers" / "questions.jsonl"
GATE_FILE = PROJECT_ROOT / "evaluation" / "gate_answers.toml"
TYPES = ("amount", "date", "count", "person", "organisation", "place")
OUTCOMES = ("right", "wrong", "not_answered")

# ---- how the text writes a value (only the forms the guideline allows in answer_text)

_MULTIPLIER = {
    None: 1,
    "Tsd.": 10**3,
    "Mio.": 10**6,
    "Million": 10**6,
    "Millionen": 10**6,
    "Mrd.": 10**9,
    "Milliarden": 10**9,
}
_AMOUNT = re.compile(
    r"(?P<int>\d{1,3}(?:\.\d{3})+|\d+)(?:,(?P<frac>\d+))?"
    r"(?: (?P<mult>Tsd\.|Mio\.|Millionen|Million|Mrd\.|Milliarden))? (?:Euro|EUR|€)"
)
_NUMBER_WORDS = dict(
    zip(
        "ein eins eine zwei drei vier fünf sechs sieben acht neun zehn elf zwölf".split(),
        [1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        strict=True,
    )
)
_MONTHS = dict(
    zip(
        "Januar Februar März April Mai Juni Juli August September Oktober November Dezember".split(),
        range(1, 13),
        strict=True,
    )
)
_ISO = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?")


def parse_amount(text: str) -> Decimal | None:
    """Euros in a German amount: "150.000 Euro" -> 150000, "1,08 Millionen Euro" -> 1080000, else None."""
    m = _AMOUNT.fullmatch(text)
    if m is None:
        return None
    number = Decimal(m["int"].replace(".", "") + ("." + m["frac"] if m["frac"] else ""))
    return number * _MULTIPLIER[m["mult"]]


def parse_count(text: str) -> int | None:
    """A count as written: "22", "2.980", "sieben" -> int, else None."""
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+|\d+", text):
        return int(text.replace(".", ""))
    return _NUMBER_WORDS.get(text.lower())


def parse_date(text: str) -> str | None:
    """An ISO date at the precision written: "20. März 2024" -> "2024-03-20", "Dezember 2021" -> "2021-12",
    "03.05.2023" -> "2023-05-03", "Ende 2026" / "Frühjahr 2017" / "2018" -> the year; else None."""
    if m := re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text):
        return _iso(int(m[3]), int(m[2]), int(m[1]))
    months = "|".join(_MONTHS)
    if m := re.fullmatch(rf"(\d{{1,2}})\. ({months}) (\d{{4}})", text):
        return _iso(int(m[3]), _MONTHS[m[2]], int(m[1]))
    if m := re.fullmatch(rf"({months}) (\d{{4}})", text):
        return f"{m[2]}-{_MONTHS[m[1]]:02d}"
    if m := re.fullmatch(r"(?:(?:Anfang|Mitte|Ende|Frühjahr|Sommer|Herbst|Winter) )?(\d{4})", text):
        return m[1]
    return None


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def is_iso_date(value: object) -> bool:
    """ "2024", "2024-03" or a real calendar day "2024-03-20"."""
    if not isinstance(value, str) or not _ISO.fullmatch(value):
        return False
    parts = [int(p) for p in value.split("-")]
    return 1 <= parts[1] <= 12 if len(parts) == 2 else len(parts) == 1 or _iso(*parts) is not None


# ---- the guideline's rules


def words(text: str) -> list[str]:
    """NFC, case-folded, every run of characters that are not letters or digits as a word boundary."""
    return re.findall(r"[^\W_]+", unicodedata.normalize("NFC", text).casefold())


def _contains(outer: list[str], inner: list[str]) -> bool:
    return any(outer[i : i + len(inner)] == inner for i in range(len(outer) - len(inner) + 1))


def string_answer_correct(kind: str, answer: str, gold: list[str]) -> bool:
    """Correct iff, for some gold string g (the value or one of `accept`), in words():
    the answer equals g; or contains g with at most 3 words more; or (person) is a trailing part of g (the
    surname, or first name + surname); or (organisation, place) is a leading part of g of at least 2 words."""
    a = words(answer)
    if not a:
        return False
    for g in map(words, gold):
        if a == g or (_contains(a, g) and len(a) - len(g) <= 3):
            return True
        if kind == "person" and a == g[-len(a) :]:
            return True
        if kind in {"organisation", "place"} and len(a) >= 2 and a == g[: len(a)]:
            return True
    return False


def value_correct(kind: str, value: object, gold: Sequence[object]) -> bool:
    """The guideline's rule for one system value against the gold values (``[answer] + accept``)."""
    if not gold:
        return False
    if kind == "amount":
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return number and any(abs(float(value) - float(g)) < 0.5 for g in gold)  # type: ignore[arg-type]
    if kind == "count":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return isinstance(value, int) and not isinstance(value, bool) and value in gold
    if kind == "date":
        return isinstance(value, str) and value in gold
    return isinstance(value, str) and string_answer_correct(kind, value, [str(g) for g in gold])


def outcome(kind: str, value: object | None, gold: Sequence[object] | None) -> str:
    """right / wrong / not_answered for one question (``gold`` None: the question has no direct answer)."""
    if value is None:
        return "not_answered"
    if not gold:
        return "wrong"
    return "right" if value_correct(kind, value, gold) else "wrong"


# ---- the run


@dataclass(frozen=True)
class AnswerQuestion:
    qid: str
    question: str
    type: str
    gold: tuple[object, ...] | None  # None: no direct answer


def load_questions(path: Path = QUESTIONS) -> list[AnswerQuestion]:
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.strip():
            d = json.loads(raw)
            gold = None if d["answer"] is None else (d["answer"], *d["accept"])
            out.append(AnswerQuestion(d["id"], d["question"], d["type"], gold))
    return out


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Outcome counts and rates per type, for answerable and no-answer questions, and overall."""

    def block(selected: Sequence[dict[str, Any]]) -> dict[str, Any]:
        counts = Counter(r["outcome"] for r in selected)
        n = len(selected)
        out: dict[str, Any] = {"questions": n}
        for o in OUTCOMES:
            out[o] = counts[o]
            out[f"{o}_rate"] = round(counts[o] / n, 4) if n else 0.0
        return out

    answerable = [r for r in rows if r["answerable"]]
    no_answer = [r for r in rows if not r["answerable"]]
    per_type = {
        t: {
            "answerable": block([r for r in answerable if r["type"] == t]),
            "no_answer": block([r for r in no_answer if r["type"] == t]),
        }
        for t in TYPES
    }
    overall = block(rows)
    return {
        "overall": overall,
        "answerable": block(answerable),
        "no_answer": block(no_answer),
        "per_type": per_type,
        # the targets: right of answerable, wrong of all questions
        "right_of_answerable": round(sum(r["outcome"] == "right" for r in answerable) / max(len(answerable), 1), 4),
        "wrong_of_all": round(overall["wrong"] / max(len(rows), 1), 4),
    }


def ask_all(questions: Sequence[AnswerQuestion], searcher: Searcher, register: Register | None) -> dict[str, Any]:
    """Every question asked through ``search.answer.ask`` on an open index: outcomes and their summary."""
    from search.answer import ask

    rows = []
    for q in questions:
        result, _ = ask(q.question, searcher, register)
        a = result.answer
        value = a.to_dict()["value"] if a else None
        rows.append(
            {
                "id": q.qid,
                "question": q.question,
                "type": q.type,
                "asked": result.question.asked.value if result.question.asked else None,
                "answerable": q.gold is not None,
                "gold": list(q.gold) if q.gold is not None else None,
                "value": value,
                "score": round(a.score, 4) if a else None,
                "citation": a.citation.to_dict() if a else None,
                "outcome": outcome(q.type, value, q.gold),
            }
        )
    return {
        "collection": "answers",
        "collection_sha256": files_sha256([QUESTIONS]),
        **summarise(rows),
        "questions": rows,
    }


def run_answers(
    settings: Settings,
    embedder: Embedder,
    workdir: Path,
    questions: Sequence[AnswerQuestion] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Every question of the collection asked on the domain evaluation index of ``corpus/sample``."""
    from core.registry import Registry
    from evaluation.quality.eval_index import open_domain_index
    from search.register import build_register

    questions = list(questions or load_questions())
    started = time.perf_counter()
    if progress:
        progress("index")
    with open_domain_index(settings, embedder, workdir) as index:
        with Registry(index.settings.registry_path) as registry:  # written by the same ingest: current
            register = build_register(registry.intel_rows(), index.gazetteer)
        searcher = runtime.build_searcher(embedder, index.store, index.gazetteer)
        if progress:
            progress(f"{len(questions)} questions")
        report = ask_all(questions, searcher, register)
        report["index_reused"] = index.reused
    report["seconds"] = round(time.perf_counter() - started, 2)
    return report


# ---- the gate


def gate_keys(report: dict[str, Any]) -> dict[str, float]:
    """The gated numbers: right of answerable and wrong of all, overall and per type."""
    keys = {"right_of_answerable": report["right_of_answerable"], "wrong_of_all": report["wrong_of_all"]}
    for t, b in report["per_type"].items():
        keys[f"{t}.right"] = b["answerable"]["right"]
        keys[f"{t}.wrong"] = b["answerable"]["wrong"] + b["no_answer"]["wrong"]
    return keys


def load_gate(path: Path = GATE_FILE) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def gate_failures(report: dict[str, Any], gate: dict[str, Any]) -> list[str]:
    """Every pinned floor (``floors``: at least) and ceiling (``ceilings``: at most) the report misses."""
    got = gate_keys(report)
    out = []
    if gate.get("collection_sha256") and gate["collection_sha256"] != report["collection_sha256"]:
        out.append("the question set changed since the gate was pinned: re-pin evaluation/gate_answers.toml")
    for key, floor in gate.get("floors", {}).items():
        if got.get(key, 0.0) < floor:
            out.append(f"{key}: {got.get(key)} < floor {floor}")
    for key, ceiling in gate.get("ceilings", {}).items():
        if got.get(key, float("inf")) > ceiling:
            out.append(f"{key}: {got.get(key)} > ceiling {ceiling}")
    return out
