"""A data directory written by an earlier version: every command says exactly what to run, and that
command (``foerdersuche reindex``) rebuilds the index from the kept raw bytes; never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import PROJECT_ROOT
from foerdersuche.cli import app

FILES = [
    PROJECT_ROOT / "corpus" / "sample" / "pm-mobilstationen-selm-eroeffnung.html",
    PROJECT_ROOT / "corpus" / "sample" / "bericht-e-mobilitaet-ruhr-2022.pdf",
]


@pytest.mark.slow
def test_an_index_of_an_earlier_version_is_refused_then_rebuilt_by_reindex(tmp_path: Path) -> None:
    data = tmp_path / "data"
    runner = CliRunner()
    cli = ["--data-dir", str(data)]
    done = runner.invoke(app, [*cli, "ingest", *map(str, FILES), "--json"])
    assert done.exit_code == 0, done.output
    hits = json.loads(runner.invoke(app, [*cli, "search", "Mobilstationen Selm", "--json"]).stdout)
    assert hits and {h["doc_id"] for h in hits}

    # what the previous version left: the same shard, without the schema marker
    (data / "index" / "passages.schema.json").unlink()

    for command in (["status"], ["search", "Mobilstationen"]):
        refused = runner.invoke(app, [*cli, *command])
        assert refused.exit_code == 1, command
        message = " ".join(refused.stderr.split())  # the console wraps long lines
        assert "stammt von einer älteren Version" in message
        assert "`foerdersuche reindex`" in message
        assert "Traceback" not in refused.output

    rebuilt = runner.invoke(app, [*cli, "reindex", "--json"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "aus den gespeicherten Rohdaten neu aufgebaut" in " ".join(rebuilt.stderr.split())
    report = json.loads(rebuilt.stdout)
    assert report["counts"] == {"indexed": 2}
    assert [p.name for p in data.iterdir() if p.name.startswith("index.outdated-")]  # kept aside, not deleted
    again = json.loads(runner.invoke(app, [*cli, "search", "Mobilstationen Selm", "--json"]).stdout)
    assert [h["passage_id"] for h in again] == [h["passage_id"] for h in hits]
    pdf_hits = [h for h in json.loads(runner.invoke(app, [*cli, "search", "Hochvolt", "--json"]).stdout) if h["page"]]
    assert pdf_hits  # the PDF's passages are back, with their pages
