"""The register over several documents (search.register): linking, ids, filters, sums, the resolver."""

from __future__ import annotations

import pytest

from core.errors import QueryError
from core.facts import FactKind, intel_to_json
from core.gazetteer import Gazetteer, load_gazetteer
from core.models import Document
from core.registry import IntelRow
from ingest.facts import extract_intel
from search.register import (
    Register,
    build_register,
    distinct_amounts,
    resolve_register_query,
    select_facts,
    select_projects,
    sums,
)


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return load_gazetteer()


DOCS = {
    "a": (
        "EcoTecHub: Workshop in Bergkamen",
        "2024-03-06",
        "Die Vorstudie EcoTecHub Bergkamen wird mit 150.000 Euro aus dem TransformationsBooster gefördert. "
        "Der Workshop findet am 20. März statt.",
    ),
    "b": (
        "Projektseite EcoTecHub",
        "2024-05-17",
        "Das Projekt EcoTecHub in Bergkamen startete am 01.12.2023 und wird mit 150.000 Euro gefördert.",
    ),
    "c": (
        "Sachstand Kreis Unna",
        "2024-12-18",
        "Der Campus Kreislaufwirtschaft in Unna mit 6,4 Mio. Euro und das Gründungs- und Innovationszentrum "
        "in Kamen mit 2,1 Mio. Euro liegen im Zeitplan. Die Vorstudie zum EcoTecHub Bergkamen ist abgeschlossen.",
    ),
    "d": (
        "Gründungszentrum Kamen: Richtfest",
        "2024-07-04",
        "Für das Gründungszentrum Kamen wurden 2,1 Mio. Euro aus dem 5-StandorteProgramm bewilligt.",
    ),
    "e": (
        "Machbarkeitsstudie in Hamm",
        "2023-01-10",
        "Die Stadt Hamm beauftragt eine Machbarkeitsstudie für 90.000 Euro.",
    ),
    "f": (
        "Machbarkeitsstudie in Werne",
        "2023-02-10",
        "Die Stadt Werne beauftragt eine Machbarkeitsstudie für 180.000 Euro.",
    ),
}


def rows(gaz: Gazetteer, keys: str = "abcdef", texts: dict[str, tuple[str, str | None, str]] = DOCS) -> list[IntelRow]:
    out = []
    for key in keys:
        title, date, text = texts[key]
        doc_id = key * 16
        d = Document(doc_id=doc_id, source=f"{key}.html", title=title, text=text, content_hash=key, date=date)
        out.append(
            IntelRow(
                doc_id,
                d.source,
                f"https://x.de/{key}",
                title,
                date,
                None,
                "text/html",
                intel_to_json(extract_intel(d, gaz)),
            )
        )
    return out


def project_named(reg: Register, word: str) -> list[str]:
    return [p.project_id for p in reg.projects if word.lower() in (p.name + " ".join(p.aliases)).lower()]


def test_mentions_of_one_project_in_several_documents_are_linked(gaz: Gazetteer) -> None:
    reg = build_register(rows(gaz), gaz)
    [eco] = project_named(reg, "EcoTecHub")
    project = reg.by_id[eco]
    assert {m.doc_id[0] for m in project.mentions} == {"a", "b", "c"}
    assert [p.name for p in project.places] == ["Bergkamen"]
    assert project.programs == ("TransformationsBooster",)
    # timeline in date order, each event cited
    assert [(t.date, t.what) for t in project.timeline][:2] == [("2023-12-01", "Start"), ("2024-03-20", "Workshop")]
    assert all(t.citation.quote for t in project.timeline)
    # "Gründungs- und Innovationszentrum in Kamen" and "Gründungszentrum Kamen" are one project
    [kamen] = [p for p in reg.projects if "Kamen" in [x.name for x in p.places]]
    assert {m.doc_id[0] for m in kamen.mentions} == {"c", "d"}


def test_different_projects_of_one_document_or_name_stay_apart(gaz: Gazetteer) -> None:
    reg = build_register(rows(gaz), gaz)
    by_doc_c = [p for p in reg.projects if any(m.doc_id[0] == "c" for m in p.mentions)]
    assert len(by_doc_c) == 3  # campus, Gründungszentrum, EcoTecHub
    # two feasibility studies in different towns are two projects
    studies = [p for p in reg.projects if "machbarkeitsstudie" in p.name.lower()]
    assert len(studies) == 2
    assert {x.name for p in studies for x in p.places} == {"Hamm", "Werne"}


def test_project_ids_are_stable_when_other_documents_come_and_go(gaz: Gazetteer) -> None:
    full = build_register(rows(gaz), gaz)
    fewer = build_register(rows(gaz, "abdef"), gaz)
    [eco_full] = project_named(full, "EcoTecHub")
    [eco_fewer] = project_named(fewer, "EcoTecHub")
    assert eco_full == eco_fewer
    assert len({p.project_id for p in full.projects}) == len(full.projects)


def test_a_kreis_filter_includes_its_gemeinden_and_programs_resolve_aliases(gaz: Gazetteer) -> None:
    reg = build_register(rows(gaz), gaz)
    q = resolve_register_query(gaz, places=["Kreis Unna"])
    places = {x.name for f in select_facts(reg, q, gaz) for x in f.fact.places}
    assert places == {"Bergkamen", "Unna", "Kamen", "Werne"}  # not Hamm (kreisfrei)
    q = resolve_register_query(gaz, programs=["Fünf-Standorte-Programm"])
    assert q.programs == ("5-StandorteProgramm",)
    assert [f.fact.eur for f in select_facts(reg, q, gaz)] == [2_100_000]
    q = resolve_register_query(gaz, places=["Hamm"])
    assert [p.name for p in select_projects(reg, q, gaz)] == ["Machbarkeitsstudie in Hamm"]
    q = resolve_register_query(gaz, query="ecotechub")
    assert len(select_projects(reg, q, gaz)) == 1


def test_unknown_places_and_programs_are_clear_german_errors(gaz: Gazetteer) -> None:
    with pytest.raises(QueryError, match="Unbekannter Ort: 'Atlantis'"):
        resolve_register_query(gaz, places=["Atlantis"])
    with pytest.raises(QueryError, match="Unbekanntes Förderprogramm: 'Quatsch'"):
        resolve_register_query(gaz, programs=["Quatsch"])


def test_sums_count_an_amount_repeated_by_several_documents_once(gaz: Gazetteer) -> None:
    reg = build_register(rows(gaz), gaz)
    eco = reg.by_id[project_named(reg, "EcoTecHub")[0]]
    assert [f.fact.eur for f in eco.facts] == [150_000, 150_000]  # two documents state it
    assert len(distinct_amounts(eco.facts)) == 1
    total = sums(reg.facts, gaz)
    assert total.by_place["Bergkamen"] == {"funding": 150_000}
    assert total.by_place["Kamen"] == {"funding": 2_100_000}  # stated in c and d, counted once
    assert total.by_program["TransformationsBooster"]["funding"] == 150_000


def test_a_changed_document_changes_its_facts_and_a_removed_one_its_mentions(gaz: Gazetteer) -> None:
    changed = dict(DOCS)
    title, date, text = DOCS["d"]
    changed["d"] = (title, date, text.replace("2,1 Mio.", "2,4 Mio."))
    reg = build_register(rows(gaz, texts=changed), gaz)
    kamen = [f.fact.eur for f in reg.facts if "Kamen" in [p.name for p in f.fact.places]]
    assert sorted(kamen) == [2_100_000, 2_400_000]  # the report c still says 2,1
    reg = build_register(rows(gaz, "abef"), gaz)
    assert not [p for p in reg.projects if any(m.doc_id[0] in "cd" for m in p.mentions)]
    assert all(f.fact.kind is not FactKind.OTHER for f in reg.facts)
