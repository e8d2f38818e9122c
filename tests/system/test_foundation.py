"""End to end on real components: the sample corpus through the real parser workers, the real model
and the real embedded Qdrant Edge; known queries find the right documents with correct citations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLE, SampleIndex

from core.models import FileStatus
from core.settings import PROJECT_ROOT, Settings
from ingest.parse import parse_bytes
from search.engine import SearchOptions, SearchRequest

pytestmark = pytest.mark.slow


def search(rt: Any, query: str, k: int = 5, **options: Any) -> list[Any]:
    return list(rt.searcher.search(SearchRequest(query, k=k, options=SearchOptions(**options))).hits)


def sources(hits: list[Any]) -> list[str]:
    return [Path(h.doc.source).name for h in hits]


def test_every_sample_file_is_indexed(sample_index: SampleIndex) -> None:
    files = sample_index.report.files  # type: ignore[attr-defined]
    assert len(files) == len(list(SAMPLE.iterdir()))
    assert {f.status for f in files} == {FileStatus.INDEXED}, [f for f in files if f.status != FileStatus.INDEXED]
    assert all(f.passages > 0 for f in files)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Elektrolyseur Wasserstoff Hamm-Uentrop", "pm-wasserstoffzentrum-hamm-uentrop.html"),
        ("Ladepunkte für Elektroautos in der Stadt Unna", "pm-ladepunkte-stadt-unna.html"),
        ("Schwammstadt Kamen Seseke", "projekt-schwammstadt-kamen-seseke.html"),
        ("Mobilstationen Selm Bork Cappenberg", "pm-mobilstationen-selm-eroeffnung.html"),
        ("Kunststoffrecycling Chemiepark Marl", "pm-recyclingtechnikum-marl-jtf.html"),
    ],
)
def test_known_queries_find_their_document_first(sample_runtime: Any, query: str, expected: str) -> None:
    assert sources(search(sample_runtime, query, k=3))[0] == expected


def test_place_query_prefers_the_kreis_and_its_gemeinden(sample_runtime: Any) -> None:
    hits = search(sample_runtime, "Projekte Kreislaufwirtschaft Kreis Unna", k=5)
    kreis_unna = "05978"
    assert all(kreis_unna in h.passage.annotations.place_keys for h in hits[:3])
    assert any("ecotechub" in s for s in sources(hits))


def test_citations_slice_back_into_the_extracted_text(sample_runtime: Any) -> None:
    for query in ("Validierungsworkshop mit den Unternehmen", "Stakeholder-Workshop 22 Unternehmen Bergkamen"):
        for hit in search(sample_runtime, query, k=5):
            raw = (PROJECT_ROOT / hit.doc.source).read_bytes()
            doc = parse_bytes(raw, hit.doc.source, doc_id=hit.doc.doc_id, suffix_hint=Path(hit.doc.source).suffix)
            assert doc.text[hit.passage.char_start : hit.passage.char_end] == hit.passage.text
            assert hit.passage.page == doc.page_at(hit.passage.char_start)


def test_pdf_hits_cite_the_right_page(sample_runtime: Any) -> None:
    import pypdf

    hits = search(sample_runtime, "Validierungsworkshop am 12. November 2024", k=3)
    pdf_hits = [h for h in hits if h.doc.source.endswith(".pdf")]
    assert pdf_hits, sources(hits)
    hit = pdf_hits[0]
    assert hit.passage.page is not None and hit.passage.page >= 1
    reader = pypdf.PdfReader(str(PROJECT_ROOT / hit.doc.source))
    page_text = " ".join(reader.pages[hit.passage.page - 1].extract_text().split())
    assert "Validierungsworkshop" in page_text
    other_pages = [" ".join(p.extract_text().split()) for i, p in enumerate(reader.pages) if i != hit.passage.page - 1]
    assert not any("Validierungsworkshop mit den Unternehmen" in t for t in other_pages)


def test_near_duplicate_press_release_is_shown_once(sample_runtime: Any) -> None:
    hits = search(sample_runtime, "Förderbescheid Lippholthausen 3,5 Millionen Euro Kraftwerksfläche", k=10)
    lipp = [h for h in hits if "lippholthausen" in h.doc.source]
    assert len({h.doc.doc_id for h in lipp}) == 1
    assert lipp[0].doc.also_published_at or lipp[0].doc.near_duplicate_of


def test_reingest_is_idempotent(sample_index: SampleIndex, real_embedder: Any) -> None:
    from ingest.discovery import discover
    from runtime import open_runtime

    items, _ = discover([SAMPLE])
    with open_runtime(sample_index.settings, embedder=real_embedder) as rt:
        before = {pid: (p, d) for pid, p, d in rt.store.iter_points()}
        again = rt.indexer.ingest(items)
        assert {f.status for f in again.files} == {FileStatus.UNCHANGED}
        forced = rt.indexer.ingest(items[:3], force=True)
        assert {f.status for f in forced.files} == {FileStatus.INDEXED}
        after = {pid: (p, d) for pid, p, d in rt.store.iter_points()}
    assert after.keys() == before.keys()
    assert after == before


def cli(settings_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "foerdersuche.cli", "--data-dir", str(settings_dir), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=PROJECT_ROOT,
        env=env,
    )


def test_cli_json_contracts(sample_index: SampleIndex, tmp_path: Path) -> None:
    data_dir = sample_index.settings.data_dir
    proc = cli(data_dir, "search", "Wasserstoff Hamm", "--json", "-k", "3")
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)
    assert len(hits) == 3
    assert "ist leer" not in proc.stderr
    for h in hits:
        assert {
            "doc_id",
            "passage_id",
            "source",
            "title",
            "page",
            "date",
            "score",
            "text",
            "char_start",
            "char_end",
        } <= h.keys()
        assert h["char_end"] - h["char_start"] == len(h["text"])

    queries = tmp_path / "q.txt"
    queries.write_text("Wasserstoff Hamm\n\nSchwammstadt Kamen\n", encoding="utf-8")
    proc = cli(data_dir, "search", "--queries", str(queries), "--json", "-k", "2")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [x["query"] for x in lines] == ["Wasserstoff Hamm", "Schwammstadt Kamen"]
    assert all(len(x["hits"]) == 2 for x in lines)

    proc = cli(data_dir, "status", "--json")
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert status["documents"] == len(list(SAMPLE.iterdir()))
    assert status["passages"] == status["points_in_index"] > 0


def test_cli_search_on_an_empty_index_says_how_to_fill_it(tmp_path: Path) -> None:
    env = {**os.environ, "FOERDERSUCHE_MODEL_DIR": str(Settings().model_path)}
    proc = cli(tmp_path / "data", "search", "Projekte Kreislaufwirtschaft Kreis Unna", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []  # the JSON contract is unchanged; the hint goes to stderr
    assert "ist leer" in proc.stderr and "foerdersuche ingest corpus/sample" in proc.stderr
    assert "Loading weights" not in proc.stderr


def test_cli_ingest_reports_bad_files_and_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "leer.pdf").write_bytes(b"")
    (folder / "kaputt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF")
    (folder / "notiz.docx").write_bytes(b"PK\x03\x04 not really")
    (folder / "gut.txt").write_text("Förderung für Wasserstoffprojekte in Bergkamen. " * 20, encoding="utf-8")
    proc = cli(tmp_path / "data", "ingest", str(folder), str(tmp_path / "fehlt.html"), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    by_name = {Path(f["source"]).name: f for f in report["files"]}
    assert by_name["gut.txt"]["status"] == "indexed" and by_name["gut.txt"]["reason"] is None
    assert by_name["notiz.docx"]["status"] == "skipped"
    assert by_name["leer.pdf"]["status"] in ("empty", "failed")
    assert by_name["kaputt.pdf"]["status"] in ("failed", "empty")
    assert by_name["fehlt.html"]["status"] == "failed"
    for f in report["files"]:
        assert (f["reason"] is None) == (f["status"] == "indexed"), f
