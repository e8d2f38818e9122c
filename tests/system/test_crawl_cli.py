"""The crawl commands through the real CLI app (in-process): --dry-run makes no request, a bad sources
file exits with a clear message, status shows documents per source, last crawl and errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from crawlsite import CountingEmbedder, FixtureSite, Page, german_page, run_crawl, sources_toml
from typer.testing import CliRunner

from core.settings import Settings
from foerdersuche.cli import app
from runtime import open_runtime


@pytest.fixture
def site() -> Iterator[FixtureSite]:
    with FixtureSite(crawl_delay=0) as s:
        s.pages["/"] = Page(german_page("Start", "die Förderung", ["/a", "/fehlt"]))
        s.pages["/a"] = Page(german_page("Projekt A", "das Projekt A"))
        yield s


def test_dry_run_makes_no_request(site: FixtureSite, tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(sources_toml(site, name="lokal", max_pages=7), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["--data-dir", str(tmp_path / "d"), "crawl", "--sources", str(sources), "--dry-run", "--json"]
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    (entry,) = plan["sources"]
    assert entry["name"] == "lokal" and entry["would_fetch"] == [site.url("/")] and entry["max_pages"] == 7
    assert entry["resumes_unfinished_crawl"] is False and entry["known_urls"] == 0
    assert site.requests == []
    assert not (tmp_path / "d" / "crawl.sqlite3").exists()

    text = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "d"), "crawl", "--sources", str(sources), "--dry-run"])
    assert text.exit_code == 0 and "Probelauf" in text.stdout and site.url("/") in text.stdout


def test_a_bad_sources_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[sources]]\nname = 'x'\nstart_urls = ['https://a.de/']\nmax_page = 3\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "crawl", "--sources", str(bad), "--dry-run"])
    assert result.exit_code == 2
    assert "unknown key(s) max_page" in result.output
    unknown = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "crawl", "--sources", str(bad.with_name("x.toml"))])
    assert unknown.exit_code == 2 and "cannot read sources file" in unknown.output


def test_dry_run_after_a_crawl_and_status(site: FixtureSite, tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(sources_toml(site, name="lokal"), encoding="utf-8")
    with open_runtime(Settings(data_dir=tmp_path, allow_private_networks=True), embedder=CountingEmbedder()) as rt:
        assert run_crawl(rt, sources.read_text(encoding="utf-8")).source("lokal").new == 2
    requests = len(site.requests)

    plan = json.loads(
        CliRunner()
        .invoke(app, ["--data-dir", str(tmp_path), "crawl", "--sources", str(sources), "--dry-run", "--json"])
        .stdout
    )
    (entry,) = plan["sources"]
    assert entry["known_urls"] == 2 and entry["conditional"] == 2  # /, /a with ETags; broken links are not revisited
    assert len(site.requests) == requests

    status = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "status", "--json"])
    assert status.exit_code == 0, status.output
    info = json.loads(status.stdout)
    (lokal,) = info["sources"]
    assert lokal["name"] == "lokal" and lokal["documents"] == {"indexed": 2} and lokal["passages"] > 0
    assert lokal["last_crawl"]["finished_at"] is not None and lokal["last_crawl"]["counts"]["new"] == 2
    assert (site.url("/fehlt"), "broken") in [tuple(e[:2]) for e in lokal["errors"]]
    assert info["last_crawl"] is not None

    human = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "status"])
    assert human.exit_code == 0 and "lokal: 2 indexed" in human.stdout and "letzter Crawl" in human.stdout


@pytest.mark.parametrize(("setting", "source_key"), [(False, True), (True, False)])
def test_without_both_opt_ins_loopback_is_refused(
    site: FixtureSite, tmp_path: Path, setting: bool, source_key: bool
) -> None:
    toml = sources_toml(site, name="lokal").replace(
        "allow_private = true", f"allow_private = {str(source_key).lower()}"
    )
    with open_runtime(Settings(data_dir=tmp_path, allow_private_networks=setting), embedder=CountingEmbedder()) as rt:
        report = run_crawl(rt, toml).source("lokal")
        assert list(rt.registry.all()) == []
    assert site.requests == []  # refused before connecting, robots.txt included
    assert report.new == 0 and report.skipped_by_robots == 0
    (problem,) = report.failed
    assert problem.url == site.url("/") and "loopback address 127.0.0.1" in problem.reason
    assert "FOERDERSUCHE_ALLOW_PRIVATE_NETWORKS=1" in problem.reason
    if source_key and not setting:
        assert any("FOERDERSUCHE_ALLOW_PRIVATE_NETWORKS is not" in note for note in report.notes)


def test_an_unreachable_robots_txt_stops_the_site_and_says_why(site: FixtureSite, tmp_path: Path) -> None:
    site.robots_status = 503  # RFC 9309: assume complete disallow
    with open_runtime(Settings(data_dir=tmp_path, allow_private_networks=True), embedder=CountingEmbedder()) as rt:
        report = run_crawl(rt, sources_toml(site, name="lokal")).source("lokal")
    assert [r.path for r in site.requests] == ["/robots.txt"] * 3  # one try and two retries, then nothing
    (problem,) = report.failed
    assert (
        problem.url == site.url("/")
        and problem.reason == "not fetched: robots.txt unreachable: HTTP 503 Service Unavailable"
    )
    assert report.skipped_by_robots == 0 and any("robots.txt unreachable" in note for note in report.notes)
