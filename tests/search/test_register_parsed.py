"""A register rebuilt with the rows of the last build kept parsed (``ParsedRows``) is the register built from
scratch, and only the rows that changed are parsed again. Rows from real extraction over sample documents."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.facts import intel_from_json, intel_to_json
from core.gazetteer import Gazetteer
from core.ids import doc_id_for
from core.registry import IntelRow
from core.settings import PROJECT_ROOT
from ingest.facts import extract_intel
from ingest.parse import parse_bytes
from runtime import build_gazetteer
from search.register import ParsedRows, build_register

FILES = (
    "pm-mobilstationen-selm-eroeffnung.html",
    "bericht-5-standorte-kreis-unna-sachstand-2024.html",
    "pm-ecotechub-workshop-einladung-wfg.html",
    "faq-foerderprogramme-strukturwandel-kreis-unna.md",
)


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return build_gazetteer()


@pytest.fixture(scope="module")
def rows(gazetteer: Gazetteer) -> list[IntelRow]:
    out = []
    for name in FILES:
        path = PROJECT_ROOT / "corpus" / "sample" / name
        source = path.relative_to(PROJECT_ROOT).as_posix()
        doc = parse_bytes(path.read_bytes(), source, doc_id=doc_id_for(source), suffix_hint=path.suffix)
        intel = extract_intel(doc, gazetteer)
        out.append(
            IntelRow(doc.doc_id, source, doc.url, doc.title, doc.date, None, doc.media_type, intel_to_json(intel))
        )
    assert all(intel_from_json(r.data).facts for r in out[:2])  # rows with facts to link
    return out


def test_a_rebuild_parses_only_changed_rows_and_builds_the_same_register(
    rows: list[IntelRow], gazetteer: Gazetteer
) -> None:
    parsed = ParsedRows()
    first = build_register(rows, gazetteer, parsed)
    assert first == build_register(rows, gazetteer) and parsed.parsed == len(rows)
    assert build_register(rows, gazetteer, parsed) == first and parsed.parsed == 0  # nothing changed

    # one document's rows change (a re-crawl found one amount fewer)
    intel = intel_from_json(rows[0].data)
    changed = [replace(rows[0], data=intel_to_json(replace(intel, facts=intel.facts[1:]))), *rows[1:]]
    rebuilt = build_register(changed, gazetteer, parsed)
    assert parsed.parsed == 1 and rebuilt == build_register(changed, gazetteer) and rebuilt != first

    # a document leaves and comes back: forgotten when it left, parsed again
    assert build_register(changed[1:], gazetteer, parsed) == build_register(changed[1:], gazetteer)
    assert build_register(rows, gazetteer, parsed) == first and parsed.parsed == 1  # only the one that came back
