"""kill -9 in the middle of a crawl, run it again: it continues without refetching what it has, and the
final index equals that of an uninterrupted crawl - set of (doc_id, passage_id, text), no duplicates.

The interrupted and the resumed crawl run as the CLI does (`python -m foerdersuche.cli crawl`), with the
real pipeline and the real embedding model; the reference crawl runs in-process with the hashing
embedder (passages and ids do not depend on the embedder)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from crawlsite import CountingEmbedder, FixtureSite, Page, german_page, make_pdf, paragraph, run_crawl, sources_toml

from core.settings import PROJECT_ROOT, Settings
from core.store.factory import open_store
from ingest.crawl.status import frontier_path
from runtime import open_runtime

PAGES = 12
KILL_AFTER = 4  # documents fetched before the kill


def build(site: FixtureSite) -> None:
    links = [f"/programm/{i}" for i in range(PAGES)] + ["/bericht.pdf"]
    site.pages["/"] = Page(german_page("Förderprogramme", "die Programmübersicht", links, paragraphs=1))
    for i in range(PAGES):
        site.pages[f"/programm/{i}"] = Page(
            german_page(f"Programm {i}", f"das Förderprogramm Nummer {i}", paragraphs=2)
        )
    site.pages["/bericht.pdf"] = Page(
        make_pdf("Jahresbericht", [paragraph("der Jahresbericht", 5)] * 3), content_type="application/pdf"
    )
    site.sitemap_pages = ["/"]


def index_content(data_dir: Path) -> list[tuple[str, str, str]]:
    store = open_store(Settings(data_dir=data_dir))
    try:
        return [(p.doc_id, p.passage_id, p.text) for _, p, _ in store.iter_points()]
    finally:
        store.close()


def kept_urls(data_dir: Path) -> set[str]:
    """URLs whose bytes the crawl has (indexed, or fetched and waiting for the Indexer)."""
    path = frontier_path(data_dir)
    if not path.is_file():  # not created yet
        return set()
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute("SELECT url FROM urls WHERE outcome IN ('pending', 'indexed', 'unchanged')").fetchall()
    except sqlite3.OperationalError:  # not created yet
        return set()
    finally:
        db.close()
    return {r[0] for r in rows}


@pytest.mark.slow
def test_kill_and_resume(tmp_path: Path) -> None:
    data_dir, reference_dir = tmp_path / "data", tmp_path / "reference"
    sources = tmp_path / "sources.toml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOERDERSUCHE_")}
    env |= {"FOERDERSUCHE_ALLOW_PRIVATE_NETWORKS": "1", "FOERDERSUCHE_MODEL_DIR": str(Settings().model_path)}
    command = [
        sys.executable,
        "-m",
        "foerdersuche.cli",
        "--data-dir",
        str(data_dir),
        "crawl",
        "--sources",
        str(sources),
        "--json",
    ]

    with FixtureSite(crawl_delay=0, page_delay=0.25) as site:
        build(site)
        sources.write_text(sources_toml(site, name="resume"), encoding="utf-8")

        # 1. crawl until a few documents are fetched, then kill -9 the whole process group
        proc = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 150
            while len(kept_urls(data_dir)) < KILL_AFTER:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "the crawl did not get going"
                time.sleep(0.05)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
        kept = kept_urls(data_dir)
        assert KILL_AFTER <= len(kept) < PAGES + 2, "killed too late to test anything"
        requests_at_kill = len(site.requests)

        # 2. run it again: it resumes and finishes
        done = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        (source,) = report["sources"]
        assert source["resumed"] is True
        assert all(f["reason"].endswith("(broken link)") for f in source["failed"])  # the site's nav links 404
        assert source["fetched"] == PAGES + 2 - len(kept)  # only what the first run did not have

        # nothing the first run had was fetched again
        again = {site.base + r.path for r in site.requests[requests_at_kill:]}
        assert not again & {u.rstrip("/") for u in kept} and not again & kept

        # 3. an uninterrupted crawl of the same site as the reference
        site.page_delay = 0
        with open_runtime(
            Settings(data_dir=reference_dir, allow_private_networks=True), embedder=CountingEmbedder()
        ) as rt:
            reference = run_crawl(rt, sources_toml(site, name="resume")).source("resume")
        assert reference.new == PAGES + 2

    resumed_index, reference_index = index_content(data_dir), index_content(reference_dir)
    assert len(resumed_index) == len(set(resumed_index))  # no duplicate passages
    assert len({pid for _, pid, _ in resumed_index}) == len(resumed_index)
    assert set(resumed_index) == set(reference_index)
    assert len({doc for doc, _, _ in resumed_index}) == PAGES + 2
