"""kill -9 during a crawl, then a restart: index and registry agree, and the next crawl finishes.

The kill-and-resume behaviour of the crawl itself (nothing fetched twice, the final index equal to an
uninterrupted crawl) is tests/system/test_crawl_resume.py, with the real model; this module reuses its site
and adds what that test does not check: the invariant between registry and index right after the
kill (``test_fault_support.consistency_problems``), with the hashing embedder so that it is fast.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from crawlsite import FixtureSite, sources_toml
from test_crawl_resume import KILL_AFTER, PAGES, build, kept_urls
from test_fault_support import consistency_problems, kill_group, run_cli, start_cli

from core.settings import Settings


def test_a_killed_crawl_leaves_a_consistent_index_and_resumes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    sources = tmp_path / "sources.toml"
    env = {"FOERDERSUCHE_ALLOW_PRIVATE_NETWORKS": "1", "FAULT_EMBED_DELAY": "0.2"}
    with FixtureSite(crawl_delay=0, page_delay=0.1) as site:
        build(site)
        sources.write_text(sources_toml(site, name="abbruch"), encoding="utf-8")
        proc = start_cli(data, "crawl", "--sources", str(sources), "--json", **env)
        deadline = time.monotonic() + 90
        while len(kept_urls(data)) < KILL_AFTER:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the crawl did not get going"
            time.sleep(0.02)
        kill_group(proc)

        doctor = run_cli(data, "doctor", "--json")
        assert doctor.returncode == 0, doctor.stderr
        assert consistency_problems(Settings(data_dir=data)) == []

        done = run_cli(data, "crawl", "--sources", str(sources), "--json", FOERDERSUCHE_ALLOW_PRIVATE_NETWORKS="1")
        assert done.returncode == 0, done.stderr
        (source,) = json.loads(done.stdout)["sources"]
        assert source["resumed"] is True
    assert consistency_problems(Settings(data_dir=data)) == []
    rows = json.loads(run_cli(data, "status", "--json").stdout)
    assert rows["by_status"] == {"indexed": PAGES + 2}
