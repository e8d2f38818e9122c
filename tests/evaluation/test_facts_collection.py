"""The facts gold collection (evaluation/collections/facts/) is well formed and cites real text.

Every quote must occur verbatim in the extracted text of its document, as the project's parser
produces it; every place key and programme must come from the gazetteer; every fact's project must
exist; event dates are ISO at year, month or day precision.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from ingest.parse import parse_bytes

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "evaluation" / "collections" / "facts"
KINDS = {"funding", "cost", "budget", "other"}
STATUSES = {"planned", "approved", "running", "completed", None}
FACT_KEYS = {"doc", "eur", "amount_text", "kind", "project", "places", "programs", "funder", "quote"}
PROJECT_KEYS = {"project", "name", "aliases", "places", "programs", "organisations", "status", "docs", "events"}
EVENT_KEYS = {"date", "what", "doc", "quote"}
PROJECT_KEY_RE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def _jsonl(name: str) -> list[dict[str, Any]]:
    lines = (COLLECTION / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


FACTS = _jsonl("facts.jsonl")
PROJECTS = _jsonl("projects.jsonl")


@cache
def extracted(doc: str) -> str:
    path = ROOT / doc
    return parse_bytes(path.read_bytes(), doc, doc_id="x", suffix_hint=path.suffix).text


@cache
def gazetteer_ags() -> frozenset[str]:
    with (ROOT / "corpus" / "gazetteer" / "places.csv").open(encoding="utf-8") as f:
        return frozenset(row["ags"] for row in csv.DictReader(f))


@cache
def canonical_programs() -> frozenset[str]:
    with (ROOT / "corpus" / "gazetteer" / "programs.csv").open(encoding="utf-8") as f:
        return frozenset(row["name"] for row in csv.DictReader(f))


def _squash(text: str) -> str:
    return " ".join(text.split())


def valid_date(value: str) -> bool:
    """ISO date at the precision the text gives: YYYY, YYYY-MM or YYYY-MM-DD."""
    formats = {4: "%Y", 7: "%Y-%m", 10: "%Y-%m-%d"}
    fmt = formats.get(len(value))
    if fmt is None:
        return False
    try:
        dt.datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def test_collection_is_not_empty() -> None:
    assert len(FACTS) >= 100
    assert len(PROJECTS) >= 20


@pytest.mark.parametrize("fact", FACTS, ids=lambda f: f"{Path(f['doc']).name}:{f['amount_text']}")
def test_fact_schema(fact: dict[str, Any]) -> None:
    assert set(fact) == FACT_KEYS
    assert (ROOT / fact["doc"]).is_file(), fact["doc"]
    assert isinstance(fact["eur"], int | float) and fact["eur"] > 0
    assert fact["kind"] in KINDS
    assert fact["project"] is None or isinstance(fact["project"], str)
    assert fact["funder"] is None or (isinstance(fact["funder"], str) and fact["funder"])
    assert isinstance(fact["places"], list) and isinstance(fact["programs"], list)
    assert _squash(fact["amount_text"]) in _squash(fact["quote"])


def test_fact_quotes_are_verbatim_and_locate_one_occurrence() -> None:
    problems = []
    for fact in FACTS:
        count = extracted(fact["doc"]).count(fact["quote"])
        if count != 1:
            problems.append(f"{fact['doc']}: {fact['quote']!r} occurs {count} times")
    assert not problems, "\n".join(problems)


def test_repeated_amounts_have_distinct_quotes() -> None:
    seen: set[tuple[str, str]] = set()
    for fact in FACTS:
        key = (fact["doc"], fact["quote"])
        assert key not in seen, key
        seen.add(key)


def test_places_and_programs_come_from_the_gazetteer() -> None:
    ags, programs = gazetteer_ags(), canonical_programs()
    for row in [*FACTS, *PROJECTS]:
        assert set(row["places"]) <= ags, row["places"]
        assert set(row["programs"]) <= programs, row["programs"]


def test_fact_projects_exist_and_list_the_facts_document() -> None:
    docs_by_project = {p["project"]: set(p["docs"]) for p in PROJECTS}
    for fact in FACTS:
        if fact["project"] is None:
            continue
        assert fact["project"] in docs_by_project, fact["project"]
        assert fact["doc"] in docs_by_project[fact["project"]], (fact["project"], fact["doc"])


def test_program_budgets_have_no_project() -> None:
    assert all(f["project"] is None for f in FACTS if f["kind"] == "budget")


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p["project"])
def test_project_schema_and_events(project: dict[str, Any]) -> None:
    assert set(project) == PROJECT_KEYS
    assert PROJECT_KEY_RE.fullmatch(project["project"])
    assert project["name"] and isinstance(project["aliases"], list)
    assert project["status"] in STATUSES
    assert project["places"], "a project has a place"
    assert project["docs"] and len(set(project["docs"])) == len(project["docs"])
    for doc in project["docs"]:
        assert (ROOT / doc).is_file(), doc
    for event in project["events"]:
        assert set(event) == EVENT_KEYS
        assert valid_date(event["date"]), event["date"]
        assert event["what"]
        assert event["doc"] in project["docs"]
        assert event["quote"] in extracted(event["doc"]), event["quote"]


def test_project_keys_are_unique() -> None:
    keys = [p["project"] for p in PROJECTS]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("value", ["2024", "2024-03", "2024-03-20"])
def test_valid_date_accepts_each_precision(value: str) -> None:
    assert valid_date(value)


@pytest.mark.parametrize("value", ["2024-3", "2024-13", "2024-02-30", "März 2024", "2024-Q1", ""])
def test_valid_date_rejects_malformed(value: str) -> None:
    assert not valid_date(value)
