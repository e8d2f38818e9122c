"""The direct-answer question set (evaluation/collections/answers/): schema, spread, and that every gold value is
stated in its quote and every quote in the extracted text of its document. The scoring rule and the value parsers
live in ``evaluation.quality.answers`` (one implementation, used by ``foerdersuche eval --collection answers``).

The checks are plain functions that return a list of problems (empty = fine), so that the tests can show
on broken lines that they fail. The number parsers are deliberately small and strict: an `answer_text` that
they cannot read is a problem, not a pass.
"""

import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core.ids import doc_id_for
from evaluation.quality.answers import (
    is_iso_date,
    parse_amount,
    parse_count,
    parse_date,
    string_answer_correct,
    value_correct,
    words,
)
from evaluation.quality.collection import files_sha256
from ingest.parse import parse_bytes

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = ROOT / "evaluation" / "collections" / "answers" / "questions.jsonl"

KEYS = {"id", "question", "type", "answer", "accept", "doc", "quote", "answer_text"}
NUMERIC = {"amount", "count"}
STRING = {"person", "organisation", "place"}
TYPES = NUMERIC | STRING | {"date"}
MINIMUM = {"amount": 20, "date": 12, "count": 8, "person": 6, "organisation": 6, "place": 4}
MIN_ANSWERABLE = 60
MIN_NO_ANSWER = 12

# ---- checks


def line_problems(line: dict[str, Any], texts: dict[str, str]) -> list[str]:
    """Everything wrong with one question line; `texts` maps a corpus path to its extracted text."""
    qid = line.get("id", "?")
    if set(line) != KEYS:
        return [f"{qid}: keys {sorted(line)} != {sorted(KEYS)}"]
    out = []
    if not isinstance(qid, str) or not re.fullmatch(r"q\d{3}", qid):
        out.append(f"{qid}: id must look like q001")
    question, kind = line["question"], line["type"]
    if not isinstance(question, str) or not question.strip().endswith("?") or len(question) < 12:
        out.append(f"{qid}: question must be a German question ending in '?'")
    if kind not in TYPES:
        return [*out, f"{qid}: type {kind!r} not in {sorted(TYPES)}"]
    accept = line["accept"]
    if not isinstance(accept, list):
        return [*out, f"{qid}: accept must be a list"]
    if line["answer"] is None:
        if accept or any(line[k] is not None for k in ("doc", "quote", "answer_text")):
            out.append(f"{qid}: a question without answer has accept [] and doc/quote/answer_text null")
        return out
    out += _value_problems(qid, kind, line["answer"], accept)
    doc, quote, answer_text = line["doc"], line["quote"], line["answer_text"]
    if not all(isinstance(x, str) and x for x in (doc, quote, answer_text)):
        return [*out, f"{qid}: an answered question needs doc, quote and answer_text"]
    if doc not in texts:
        return [*out, f"{qid}: {doc} is not a document of corpus/sample"]
    if len(quote) < 12:
        out.append(f"{qid}: quote shorter than 12 characters")
    found = texts[doc].count(quote)
    if found != 1:
        out.append(f"{qid}: quote found {found} times (must be exactly once) in the extracted text of {doc}")
    if answer_text not in quote:
        out.append(f"{qid}: answer_text {answer_text!r} not in the quote")
    out += _answer_text_problems(qid, kind, line["answer"], accept, answer_text)
    return out


def _value_problems(qid: str, kind: str, answer: object, accept: list[object]) -> list[str]:
    values = [answer, *accept]
    if kind in NUMERIC:
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in values)
        if not numbers or (kind == "count" and not all(isinstance(v, int) for v in values)):
            return [f"{qid}: {kind} answer and accept must be non-negative numbers (counts: integers)"]
    elif kind == "date":
        if not all(is_iso_date(v) for v in values):
            return [f"{qid}: date answer and accept must be ISO dates (YYYY, YYYY-MM or YYYY-MM-DD)"]
    elif not all(isinstance(v, str) and words(v) for v in values):
        return [f"{qid}: {kind} answer and accept must be non-empty strings"]
    if len({json.dumps(v) for v in values}) != len(values):
        return [f"{qid}: accept repeats a value"]
    return []


def _answer_text_problems(qid: str, kind: str, answer: Any, accept: list[Any], answer_text: str) -> list[str]:
    """The quote states the gold value: answer_text, read by the strict parsers, is the gold answer."""
    if kind == "amount":
        read: object = parse_amount(answer_text)
        ok = read is not None and read == Decimal(str(answer))
    elif kind == "count":
        read = parse_count(answer_text)
        ok = read == answer
    elif kind == "date":
        read = parse_date(answer_text)
        ok = read == answer
    else:
        read = answer_text
        ok = string_answer_correct(kind, answer_text, [answer, *accept])
    return [] if ok else [f"{qid}: answer_text {answer_text!r} reads as {read!r}, not the gold answer {answer!r}"]


def collection_problems(lines: list[dict[str, Any]]) -> list[str]:
    """Unique ids and questions, and the minimum spread of types."""
    out = []
    ids = Counter(line.get("id") for line in lines)
    out += [f"duplicate id {i}" for i, n in ids.items() if n > 1]
    questions = Counter(" ".join(words(str(line.get("question")))) for line in lines)
    out += [f"duplicate question {q!r}" for q, n in questions.items() if n > 1]
    answerable = [line for line in lines if line.get("answer") is not None]
    counts = Counter(line.get("type") for line in answerable)
    out += [f"{t}: {counts[t]} answerable questions < {n}" for t, n in MINIMUM.items() if counts[t] < n]
    if len(answerable) < MIN_ANSWERABLE:
        out.append(f"{len(answerable)} answerable questions < {MIN_ANSWERABLE}")
    if len(lines) - len(answerable) < MIN_NO_ANSWER:
        out.append(f"{len(lines) - len(answerable)} questions without answer < {MIN_NO_ANSWER}")
    return out


# ---- fixtures and tests


def load_lines(path: Path = QUESTIONS) -> list[dict[str, Any]]:
    lines = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        assert raw.strip(), f"{path.name}:{n}: empty line"
        lines.append(json.loads(raw))
    return lines


@pytest.fixture(scope="module")
def lines() -> list[dict[str, Any]]:
    return load_lines()


@pytest.fixture(scope="module")
def texts(lines: list[dict[str, Any]]) -> dict[str, str]:
    """Extracted text (what the index holds) of every sample document the set names, plus the rest of the folder
    names without parsing them, so that a named file outside corpus/sample is reported as such."""
    out = {}
    for doc in sorted({line["doc"] for line in lines if isinstance(line.get("doc"), str)}):
        path = ROOT / doc
        if doc.startswith("corpus/sample/") and path.is_file():
            parsed = parse_bytes(path.read_bytes(), doc, doc_id=doc_id_for(doc), suffix_hint=path.suffix.lower())
            out[doc] = parsed.text
    return out


def test_every_line_is_valid(lines: list[dict[str, Any]], texts: dict[str, str]) -> None:
    problems = [p for line in lines for p in line_problems(line, texts)]
    assert not problems, "\n".join(problems)


def test_the_set_is_large_and_spread_enough(lines: list[dict[str, Any]]) -> None:
    problems = collection_problems(lines)
    assert not problems, "\n".join(problems)


def test_ids_run_in_file_order(lines: list[dict[str, Any]]) -> None:
    assert [line["id"] for line in lines] == [f"q{n:03d}" for n in range(1, len(lines) + 1)]


def test_quotes_are_short_evidence_not_whole_paragraphs(lines: list[dict[str, Any]]) -> None:
    too_long = [line["id"] for line in lines if line["quote"] and len(line["quote"]) > 200]
    assert not too_long


GOOD = {
    "id": "q001",
    "question": "Wie viel Geld gibt das Land für die Vorstudie?",
    "type": "amount",
    "answer": 150000,
    "accept": [],
    "doc": "corpus/sample/x.html",
    "quote": "Das Land finanziert die Vorstudie mit 150.000 Euro.",
    "answer_text": "150.000 Euro",
}
TEXTS = {"corpus/sample/x.html": "Titel\n\nDas Land finanziert die Vorstudie mit 150.000 Euro. Mehr Text."}


def test_a_good_line_has_no_problems() -> None:
    assert line_problems(GOOD, TEXTS) == []
    assert line_problems({**GOOD, "answer": None, "doc": None, "quote": None, "answer_text": None}, TEXTS) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"answer": 150001}, "not the gold answer"),
        ({"answer": 15000}, "not the gold answer"),
        ({"answer_text": "150.000"}, "not the gold answer"),  # an amount must name its currency
        ({"answer_text": "150.000 Euro."}, "not the gold answer"),
        ({"quote": "Das Land finanziert die Vorstudie mit 150.000 €."}, "found 0 times"),
        ({"quote": "Das Land finanziert"}, "answer_text"),
        ({"quote": "Land", "answer_text": "Land", "type": "place", "answer": "Land"}, "shorter than 12"),
        ({"doc": "corpus/sample/y.html"}, "not a document"),
        ({"type": "betrag"}, "type"),
        ({"question": "Fördersumme Vorstudie"}, "ending in '?'"),
        ({"id": "Q1"}, "id must"),
        ({"answer": "150000"}, "non-negative numbers"),
        ({"accept": [150000]}, "repeats"),
        ({"answer": None}, "without answer"),
        ({"doc": None}, "needs doc"),
        ({"extra": 1}, "keys"),
        ({"type": "count", "answer": 150000.0, "answer_text": "150.000"}, "integers"),
        ({"type": "date", "answer": "2024-02-30", "answer_text": "150.000 Euro"}, "ISO dates"),
        ({"type": "date", "answer": "2024-13"}, "ISO dates"),
        ({"type": "organisation", "answer": "Land NRW", "answer_text": "Vorstudie"}, "not the gold answer"),
    ],
)
def test_a_broken_line_is_reported(change: dict[str, Any], expected: str) -> None:
    problems = line_problems({**GOOD, **change}, TEXTS)
    assert any(expected in p for p in problems), problems


def test_a_repeated_quote_is_reported() -> None:
    texts = {"corpus/sample/x.html": TEXTS["corpus/sample/x.html"] * 2}
    assert any("found 2 times" in p for p in line_problems(GOOD, texts))


def test_the_collection_checks_fail_on_a_small_or_duplicated_set() -> None:
    problems = collection_problems([GOOD, {**GOOD, "question": "Wie viel Geld gibt das Land für die Vorstudie"}])
    assert "duplicate id q001" in problems
    assert any(p.startswith("duplicate question") for p in problems)
    assert any(p.startswith("date: 0 answerable") for p in problems)
    assert any("questions without answer < 12" in p for p in problems)


@pytest.mark.parametrize(
    ("text", "euros"),
    [
        ("150.000 Euro", 150_000),
        ("1,08 Millionen Euro", 1_080_000),
        ("3,5 Millionen €", 3_500_000),
        ("14,6 Mio. EUR", 14_600_000),
        ("662 Millionen Euro", 662_000_000),
        ("1,86 Mio. Euro", 1_860_000),
        ("150.000", None),
        ("1,08 Millionen", None),
        ("rund 3,9 Millionen Euro", None),
        ("EUR 3.5 million", None),
    ],
)
def test_parse_amount(text: str, euros: int | None) -> None:
    assert parse_amount(text) == (None if euros is None else Decimal(euros))


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("20. März 2024", "2024-03-20"),
        ("3. Mai 2023", "2023-05-03"),
        ("03.05.2023", "2023-05-03"),
        ("31.02.2024", None),
        ("Dezember 2021", "2021-12"),
        ("Ende 2026", "2026"),
        ("Frühjahr 2017", "2017"),
        ("2018", "2018"),
        ("Wintersemester 2025/26", None),
        ("Q4 2023", None),
    ],
)
def test_parse_date(text: str, iso: str | None) -> None:
    assert parse_date(text) == iso


@pytest.mark.parametrize(("text", "n"), [("22", 22), ("2.980", 2980), ("sieben", 7), ("22 Unternehmen", None)])
def test_parse_count(text: str, n: int | None) -> None:
    assert parse_count(text) == n


@pytest.mark.parametrize(
    ("kind", "answer", "gold", "correct"),
    [
        ("person", "Dr. Miriam Hoffstädt", ["Miriam Hoffstädt"], True),  # contains the gold, 1 word more
        ("person", "Prof. Dr. Tobias Lennartz (Westfälische Hochschule)", ["Tobias Lennartz"], False),  # 4 more
        ("person", "hoffstädt", ["Miriam Hoffstädt"], True),  # the surname alone
        ("person", "Miriam", ["Miriam Hoffstädt"], False),  # the first name alone is not enough
        ("person", "Tobias Lennartz", ["Miriam Hoffstädt"], False),
        ("organisation", "Bezirksregierung Arnsberg", ["Bezirksregierung Arnsberg"], True),
        ("organisation", "die Bezirksregierung Arnsberg (Dezernat Wirtschaft)", ["Bezirksregierung Arnsberg"], True),
        ("organisation", "Arnsberg", ["Bezirksregierung Arnsberg"], False),  # a trailing part: a city, not the body
        ("organisation", "Bezirksregierung", ["Bezirksregierung Arnsberg"], False),  # one leading word is too vague
        ("organisation", "Hochschule", ["Hochschule Bochum"], False),
        ("organisation", "Bezirksregierung Münster", ["Bezirksregierung Arnsberg"], False),
        ("organisation", "BAFA", ["Bundesamt für Wirtschaft und Ausfuhrkontrolle", "BAFA"], True),
        ("organisation", "Hochschule Bochum und Westfälische Hochschule Gelsenkirchen", ["Hochschule Bochum"], False),
        ("place", "Bergkamen Heil", ["Bergkamen-Heil"], True),  # hyphens and spaces are the same boundary
        ("place", "Ökologiestation Bergkamen", ["Ökologiestation Bergkamen-Heil"], True),
        ("place", "Heil", ["Bergkamen-Heil"], False),
        ("place", "", ["Essen"], False),
    ],
)
def test_string_answer_rule(kind: str, answer: str, gold: list[str], correct: bool) -> None:
    assert string_answer_correct(kind, answer, gold) is correct


@pytest.mark.parametrize(
    ("kind", "value", "gold", "correct"),
    [
        ("amount", 1080000, [1080000], True),
        ("amount", 1080000.4, [1080000], True),  # equal to the euro
        ("amount", 1.08, [1080000], False),  # millions are not euros
        ("amount", "1080000", [1080000], False),
        ("count", 22, [22], True),
        ("count", 22.0, [22], True),
        ("count", 23, [22], False),
        ("date", "2024-03-20", ["2024-03-20"], True),
        ("date", "2024", ["2024-03-20"], False),  # no partial credit
        ("date", "2024-12", ["2024-12-31", "2024-12"], True),
        ("person", "Dr. Miriam Hoffstädt", ["Miriam Hoffstädt"], True),
        ("place", "Heil", ["Bergkamen-Heil"], False),
        ("amount", 150000, [], False),  # no gold: any value is wrong
    ],
)
def test_value_rule(kind: str, value: object, gold: list[object], correct: bool) -> None:
    assert value_correct(kind, value, gold) is correct


def test_the_answers_gate_is_pinned_on_this_set_and_fails_on_a_drop() -> None:
    from evaluation.quality.answers import GATE_FILE, gate_failures, load_gate, summarise

    gate = load_gate()
    assert gate["collection_sha256"] == files_sha256([QUESTIONS]), f"re-pin {GATE_FILE.name}: the question set changed"
    rows = [
        {"type": "amount", "answerable": True, "outcome": "right"},
        {"type": "date", "answerable": False, "outcome": "wrong"},
    ]
    report = {**summarise(rows), "collection_sha256": gate["collection_sha256"]}
    failures = gate_failures(report, gate)
    assert any(f.startswith("date.right") for f in failures)  # a floor
    assert any(f.startswith("wrong_of_all: 0.5 >") for f in failures)  # a ceiling
