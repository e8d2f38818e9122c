"""One path per request: the same search parameters through the CLI (``search --json``), the API
(``GET /search``) and the evaluation runner give the same documents in the same order, and the same
invalid values are rejected with the same German message (one resolver: ``search.request``). Real
model, real index (the session's sample index)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from core.errors import QueryError
from evaluation.quality.collection import Query
from evaluation.quality.runner import Variant, base_options, run_variant
from foerdersuche.cli import app as cli_app
from runtime import build_embedder, open_runtime

K = 10
# (name, query, filters as a user gives them)
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("Kreis", "Förderung Projekte", {"place": ["Kreis Unna"]}),
    ("Gemeinde", "Förderung Projekte", {"place": ["Bergkamen"]}),
    ("misspelled place", "Förderung Projekte", {"place": ["Kreis Una"]}),
    ("program alias", "Qualifizierung", {"program": ["Fünf-Standorte-Programm"]}),
    ("document type", "Wasserstoff", {"doc_type": ["press_release"]}),
    ("date range", "Förderbescheid", {"date_from": ["2023-01-01"], "date_to": ["2023-12-31"]}),
    (
        "combination",
        "Kreislaufwirtschaft",
        {"place": ["Kreis Unna"], "doc_type": ["press_release", "project_page"], "date_from": ["2023-06-01"]},
    ),
]
INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("unknown place", {"place": ["Atlantis"]}, "Unbekannter Ort: 'Atlantis'"),
    ("unknown document type", {"doc_type": ["roman"]}, "Unbekannte Dokumentart: 'roman'"),
    ("impossible date", {"date_from": ["2023-13-01"]}, "Ungültiges Datum für date_from: '2023-13-01'"),
    ("unknown program", {"program": ["Quatsch"]}, "Unbekanntes Förderprogramm: 'Quatsch'"),
]
CLI_FLAGS = {"place": "--place", "program": "--program", "doc_type": "--doc-type"}


def _cli_args(query: str, filters: dict[str, Any]) -> list[str]:
    args = ["search", query, "--json", "-k", str(K)]
    for name, values in filters.items():
        flag = CLI_FLAGS.get(name, "--" + name.replace("_", "-"))
        for v in values:
            args += [flag, v]
    return args


def _doc_order(doc_ids: list[str]) -> list[str]:
    return list(dict.fromkeys(doc_ids))


@pytest.fixture(scope="module")
def through_all(sample_index: Any) -> dict[str, dict[str, Any]]:
    """Every case through the three front ends, one after the other (one process opens the index), each
    with the embedder the composition root builds for the settings (as the CLI does for itself)."""
    settings = sample_index.settings
    embedder = build_embedder(settings)
    out: dict[str, dict[str, Any]] = {"cli": {}, "api": {}, "eval": {}}
    runner = CliRunner()
    for name, query, filters in CASES:
        result = runner.invoke(cli_app, ["--data-dir", str(settings.data_dir), *_cli_args(query, filters)])
        assert result.exit_code == 0, result.output
        out["cli"][name] = _doc_order([h["doc_id"] for h in json.loads(result.stdout)])
    for name, filters, _ in INVALID:
        result = runner.invoke(cli_app, ["--data-dir", str(settings.data_dir), *_cli_args("Förderung", filters)])
        out["cli"][name] = (result.exit_code, " ".join(result.stderr.split()))
    with TestClient(create_app(settings, embedder=embedder)) as client:
        for name, query, filters in CASES:
            body = client.get("/search", params={"q": query, "k": K, **filters}).json()
            out["api"][name] = [g["doc_id"] for g in body["results"]]  # one group per document, in rank order
        for name, filters, _ in INVALID:
            response = client.get("/search", params={"q": "Förderung", **filters})
            out["api"][name] = (response.status_code, response.json()["error"]["message"])
    with open_runtime(settings, embedder=embedder) as rt:
        variant = Variant("front-ends", replace(base_options(settings), fold_duplicates=True))
        for name, query, filters in CASES:
            q = Query(name, query, filters=tuple(sorted((k, tuple(v)) for k, v in filters.items())))
            run = run_variant(variant, [q], rt.store, rt.gazetteer, rt.embedder, depth=K)
            out["eval"][name] = list(run.documents[name])  # source paths, in rank order
            by_source = {r.source: r.doc_id for r in rt.registry.all()}
            out["eval"][name] = [by_source[s] for s in out["eval"][name]]
        for name, filters, _ in INVALID:
            q = Query(name, "Förderung", filters=tuple(sorted((k, tuple(v)) for k, v in filters.items())))
            try:
                run_variant(variant, [q], rt.store, rt.gazetteer, rt.embedder, depth=K)
                out["eval"][name] = None
            except QueryError as exc:
                out["eval"][name] = str(exc)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_the_same_documents_in_the_same_order_everywhere(through_all: dict[str, dict[str, Any]], name: str) -> None:
    cli, api, ev = through_all["cli"][name], through_all["api"][name], through_all["eval"][name]
    assert cli, f"{name}: no documents at all, the case tests nothing"
    assert cli == api == ev, {"cli": cli, "api": api, "eval": ev}


@pytest.mark.slow
@pytest.mark.parametrize(("name", "message"), [(c[0], c[2]) for c in INVALID])
def test_invalid_values_are_rejected_with_the_same_message_everywhere(
    through_all: dict[str, dict[str, Any]], name: str, message: str
) -> None:
    exit_code, stderr = through_all["cli"][name]
    status, api_message = through_all["api"][name]
    eval_message = through_all["eval"][name]
    assert exit_code == 1 and status == 400
    assert api_message.startswith(message) and eval_message == api_message
    assert f"Fehler: {api_message}" in stderr


@pytest.mark.slow
def test_bytes_that_are_not_utf8_in_a_command_line_are_searched_not_a_traceback(sample_index: Any) -> None:
    """Python hands undecodable argv bytes on as lone surrogates, which the tokenizer and the stemmer
    refused with a UnicodeEncodeError; ``search.engine.query_text`` reads them as U+FFFD."""
    cli = Path(sys.executable).with_name("foerdersuche")
    data_dir = str(sample_index.settings.data_dir).encode()
    for command in (
        [b"search", b"Kreislaufwirtschaft \xff Kreis Unna", b"--json"],
        [b"ask", b"Wann \xff startete das Projekt?"],
    ):
        proc = subprocess.run(
            [str(cli).encode(), b"--data-dir", data_dir, *command], capture_output=True, timeout=300, check=False
        )
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
        assert b"Traceback" not in proc.stderr and b"UnicodeEncodeError" not in proc.stderr
    hits = json.loads(
        subprocess.run(
            [str(cli).encode(), b"--data-dir", data_dir, b"search", b"Kreislaufwirtschaft \xff Kreis Unna", b"--json"],
            capture_output=True,
            timeout=300,
            check=True,
        ).stdout
    )
    assert hits, "the query with the replaced byte still finds passages"
