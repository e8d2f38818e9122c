"""The register end to end with the real components: crawl from a real HTTP server into the real
Qdrant Edge index through the isolated parser workers (the hashing embedder stands in for the model:
the register never reads vectors), re-crawls that change or remove pages, the CLI contract, and a data
directory written before the register existed."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from crawlsite import CountingEmbedder, FixtureSite, Page, html_page, run_crawl, sources_toml
from typer.testing import CliRunner

from core.settings import PROJECT_ROOT, Settings
from foerdersuche.cli import app
from ingest.discovery import SourceItem
from runtime import Runtime, open_runtime

CAMPUS = (
    "<p>Die Westfälische Hochschule und die Stadt haben den Zuwendungsbescheid für den „H2-Campus Gelsenkirchen“ "
    "erhalten. Aus dem Just Transition Fund fließen {amount} in das Vorhaben, das insgesamt rund 7,75 Mio. Euro "
    "kostet.</p><p>Der Umbau der Halle beginnt im Frühjahr 2024.</p>"
)
HUB = (
    "<p>Die Vorstudie EcoTecHub Bergkamen wird mit 150.000 Euro aus dem TransformationsBooster gefördert. "
    "Am 20.03.2024 fand der Workshop mit 22 Unternehmen statt.</p>"
)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(data_dir=tmp_path / "data", allow_private_networks=True)
    with open_runtime(settings, embedder=CountingEmbedder()) as rt:
        yield rt


def _site(site: FixtureSite, amount: str) -> None:
    site.pages["/"] = Page(html_page("Projekte", "<p>Unsere Vorhaben.</p>", ["/campus", "/hub"]))
    site.pages["/campus"] = Page(html_page("H2-Campus Gelsenkirchen", CAMPUS.format(amount=amount)))
    site.pages["/hub"] = Page(html_page("EcoTecHub Bergkamen", HUB))


def test_a_recrawl_that_changes_an_amount_updates_the_fact_and_a_removed_page_its_mentions(runtime: Runtime) -> None:
    with FixtureSite(crawl_delay=0.0) as site:
        _site(site, "6,2 Mio. Euro")
        toml = sources_toml(site, name="register")
        run_crawl(runtime, toml)
        reg = runtime.register()
        campus = [f for f in reg.facts if f.fact.project == "H2-Campus Gelsenkirchen"]
        assert sorted((f.fact.eur, f.fact.kind.value) for f in campus) == [(6_200_000, "funding"), (7_750_000, "cost")]
        assert campus[0].citation.url == site.url("/campus")
        [hub] = [p for p in reg.projects if "EcoTecHub" in p.name]
        assert [(t.date, t.what) for t in hub.timeline] == [("2024-03-20", "Workshop")]

        _site(site, "6,4 Mio. Euro")  # the page now states another amount
        run_crawl(runtime, toml)
        reg = runtime.register()
        funding = [f.fact.eur for f in reg.facts if f.fact.kind.value == "funding" and f.fact.project]
        assert 6_400_000 in funding and 6_200_000 not in funding  # updated, not duplicated
        assert len([f for f in reg.facts if f.citation.url == site.url("/campus")]) == 2

        del site.pages["/hub"]  # the page is gone (404): its facts and mentions leave the register
        run_crawl(runtime, toml)
        reg = runtime.register()
        assert not [p for p in reg.projects if "EcoTecHub" in p.name]
        assert not [f for f in reg.facts if f.citation.url == site.url("/hub")]


def _ingest_sample_subset(data_dir: Path) -> None:
    files = [
        PROJECT_ROOT / "corpus" / "sample" / name
        for name in ("pm-mobilstationen-selm-eroeffnung.html", "bericht-5-standorte-kreis-unna-sachstand-2024.html")
    ]
    with open_runtime(Settings(data_dir=data_dir), embedder=CountingEmbedder()) as rt:
        report = rt.indexer.ingest([SourceItem(source=str(f.relative_to(PROJECT_ROOT)), path=f) for f in files])
        assert {f.status.value for f in report.files} == {"indexed"}


def test_cli_contract_and_an_index_from_before_the_register_is_re_enriched_from_raw_bytes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _ingest_sample_subset(data)
    runner = CliRunner()
    first = json.loads(runner.invoke(app, ["--data-dir", str(data), "facts", "--json"]).stdout)
    assert first["facts"] and set(first) == {"facts", "sums"}
    fact = first["facts"][0]
    for key in (
        "fact_id",
        "eur",
        "amount_text",
        "kind",
        "purpose",
        "project_id",
        "places",
        "programs",
        "funder",
        "date",
    ):
        assert key in fact
    assert set(fact["citation"]) == {"doc_id", "source", "url", "title", "page", "char_start", "char_end", "quote"}

    # a data directory written before the register existed: no register table at all
    with sqlite3.connect(data / "registry.sqlite3") as db:
        db.execute("DROP TABLE intel")
    result = runner.invoke(app, ["--data-dir", str(data), "facts", "--json"])
    assert result.exit_code == 0, result.output
    assert "Register wird aus den gespeicherten Rohdaten aufgebaut (2 Dokumente" in result.stderr
    again = json.loads(result.stdout)
    assert again["facts"] == first["facts"]  # the same rows, rebuilt without re-crawl or re-embedding
    assert "aufgebaut" not in runner.invoke(app, ["--data-dir", str(data), "facts", "--json"]).stderr  # once

    projects = json.loads(runner.invoke(app, ["--data-dir", str(data), "projects", "--json"]).stdout)["projects"]
    [selm] = [p for p in projects if "Mobilstationen" in p["name"]]
    assert len({m["doc_id"] for m in selm["mentions"]}) == 2  # the press release and the 2024 report, linked
    for key in (
        "project_id",
        "name",
        "aliases",
        "places",
        "programs",
        "organisations",
        "amounts",
        "status",
        "mentions",
        "timeline",
    ):
        assert key in selm
    shown = runner.invoke(app, ["--data-dir", str(data), "projects", "show", selm["project_id"], "--json"])
    detail = json.loads(shown.stdout)
    assert detail["project_id"] == selm["project_id"] and detail["facts"]
    assert [t["date"] for t in detail["timeline"]] == sorted(t["date"] for t in detail["timeline"])

    csv_out = runner.invoke(app, ["--data-dir", str(data), "facts", "--csv", "--place", "Selm"]).stdout
    assert csv_out.splitlines()[0].startswith("fact_id,eur,amount_text,kind")
    assert all("Selm" in line for line in csv_out.splitlines()[1:])

    bad = runner.invoke(app, ["--data-dir", str(data), "facts", "--place", "Atlantis"])
    assert bad.exit_code == 1 and "Unbekannter Ort: 'Atlantis'" in bad.stderr
    missing = runner.invoke(app, ["--data-dir", str(data), "projects", "show", "p-0000000000"])
    assert missing.exit_code == 1 and "kein Vorhaben mit der ID" in missing.stderr


def test_raw_bytes_that_are_gone_are_reported_not_a_traceback(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _ingest_sample_subset(data)
    with sqlite3.connect(data / "registry.sqlite3") as db:
        db.execute("DELETE FROM intel")
    for raw in (data / "raw").rglob("*"):
        if raw.is_file():
            raw.unlink()
    from runtime import load_register

    register, _, refreshed = load_register(Settings(data_dir=data))
    assert register.facts == []
    assert refreshed is not None and refreshed.refreshed == 0
    assert [reason for _, reason in refreshed.failed] == [
        "raw bytes not kept; run `foerdersuche reindex` or ingest the source again"
    ] * 2
