"""Scanned PDFs through the whole pipeline: isolated parse workers with the real Tesseract, chunking,
the real embedded index (Qdrant Edge; the hashing embedder stands in for the model), the ingest
report, ``status --json``, and the API. A word that occurs only in a page's image is found, on the
right page, marked as OCR text. Without Tesseract (no model directory, no binding, OCR off) a scan
stays ``needs_ocr`` with the reason, and the run goes on."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_ocr_pages import DIGITAL, ONLY_IN_IMAGE, needs_tesseract

from api.app import create_app
from core.model.embedding import HashingEmbedder
from core.models import FileStatus
from core.settings import PROJECT_ROOT, Settings
from evaluation.quality.ocr_pages import page_text, scanned_pdf
from ingest.discovery import discover
from ingest.report import IngestReport
from runtime import open_runtime

EMBED_DIM = 64
FLOOR = 99.5  # above what Tesseract gives a noisy scan: every OCR page of this index is flagged
ONLY_IN_FAX = "Die Haldenbeleuchtung am Tetraeder in Bottrop kostet 86.500 Euro."

pytestmark = needs_tesseract


@dataclass(frozen=True)
class OcrEnv:
    settings: Settings
    report: IngestReport
    folder: Path


def write_corpus(folder: Path) -> Path:
    """A mixed report (page 1 digital, 2-3 scanned, the word only in page 3's image), a scanned fax
    (one page) and a plain text note."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bericht.pdf").write_bytes(
        scanned_pdf([page_text(21), page_text(22, sentences=12, extra=ONLY_IN_IMAGE)], digital={1: DIGITAL})
    )
    (folder / "fax.pdf").write_bytes(scanned_pdf([page_text(23, sentences=10, extra=ONLY_IN_FAX)]))
    (folder / "notiz.txt").write_text("Förderaufruf Zeche Zollverein: Anträge bis 30. Juni 2025.", encoding="utf-8")
    return folder


def make_ocr_env(target: Path, **overrides: object) -> OcrEnv:
    folder = write_corpus(target / "eingang")
    settings = Settings(data_dir=target / "data", ingest_roots=(folder,), **overrides)  # type: ignore[arg-type]
    items, _ = discover([folder])
    with open_runtime(settings, embedder=HashingEmbedder(EMBED_DIM)) as rt:
        report = rt.indexer.ingest(items)
    return OcrEnv(settings, report, folder)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> OcrEnv:
    return make_ocr_env(tmp_path_factory.mktemp("ocr"), ocr_min_confidence=FLOOR)


@pytest.fixture(scope="module")
def client(env: OcrEnv) -> Iterator[TestClient]:
    with TestClient(create_app(env.settings, embedder=HashingEmbedder(EMBED_DIM))) as c:
        yield c


def _file(report: IngestReport, name: str) -> dict:
    return next(f for f in report.to_dict()["files"] if f["source"].endswith(name))  # type: ignore[union-attr]


def test_the_report_names_the_ocr_pages_confidence_and_speed(env: OcrEnv) -> None:
    data = json.loads(env.report.to_json())
    assert data["counts"] == {"indexed": 3}
    bericht, fax, notiz = _file(env.report, "bericht.pdf"), _file(env.report, "fax.pdf"), _file(env.report, "notiz.txt")
    assert bericht["ocr"]["pages"] == [2, 3] and fax["ocr"]["pages"] == [1]
    assert notiz["ocr"] is None
    pages = [p for f in env.report.files for p in f.ocr_pages]
    assert bericht["ocr"]["mean_confidence"] == round((pages[0].confidence + pages[1].confidence) / 2, 1)
    run = data["ocr"]
    assert run["files"] == 2 and run["pages"] == 3
    assert run["pages_per_s"] == round(3 / run["seconds"], 3) > 0
    # pages under the floor are indexed (passages above) and listed with source, page and confidence
    flagged = [(f.source, p.page, p.confidence) for f in env.report.files for p in f.ocr_pages]
    assert [(x["source"], x["page"], x["confidence"]) for x in run["flagged"]] == flagged
    assert all(c < FLOOR for _, _, c in flagged) and bericht["ocr"]["flagged_pages"] == [2, 3]


def test_status_json_reports_the_ocr_pages(env: OcrEnv) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "foerdersuche.cli", "--data-dir", str(env.settings.data_dir), "status", "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    ocr = json.loads(out.stdout)["ocr"]
    assert ocr["files"] == 2 and ocr["pages"] == 3
    assert ocr["flagged"] == env.report.to_dict()["ocr"]["flagged"]  # type: ignore[index]


def test_a_word_only_in_the_image_is_found_on_its_page_with_the_ocr_mark(client: TestClient) -> None:
    body = client.get("/search", params={"q": "Grubenwasserwärmepumpe", "mode": "lexical", "k": 5}).json()
    top = body["results"][0]
    assert top["source"].endswith("bericht.pdf")
    hit = top["passages"][0]
    assert "Grubenwasserwärmepumpe" in hit["text"]
    assert hit["page"] == 3 and hit["citation"]["page"] == 3
    assert hit["citation"]["original_url"].endswith("#page=3")
    assert hit["ocr"]["label"] == "Text per Texterkennung, Seite 3"
    assert 0 < hit["ocr"]["confidence"] < FLOOR and hit["ocr"]["flagged"] is True
    fax = client.get("/search", params={"q": "Haldenbeleuchtung Tetraeder", "mode": "lexical"}).json()["results"][0]
    assert fax["source"].endswith("fax.pdf") and fax["passages"][0]["page"] == 1
    assert fax["passages"][0]["ocr"]["label"] == "Text per Texterkennung, Seite 1"


def test_digital_pages_carry_no_ocr_mark(client: TestClient) -> None:
    body = client.get("/search", params={"q": "Ökosiedlung Bergkamen", "mode": "lexical"}).json()
    hit = body["results"][0]["passages"][0]
    assert hit["page"] == 1 and hit["ocr"] is None
    doc = client.get(f"/documents/{body['results'][0]['doc_id']}").json()
    marks = {p["page"]: p["ocr"] is not None for p in doc["passages"]}
    assert marks[1] is False and marks[3] is True


def test_every_passage_of_a_scanned_page_and_only_those_carry_the_mark(client: TestClient) -> None:
    body = client.get("/search", params={"q": "Grubenwasserwärmepumpe", "mode": "lexical"}).json()
    doc = client.get(f"/documents/{body['results'][0]['doc_id']}").json()
    assert {p["page"] for p in doc["passages"]} == {1, 2, 3}
    for p in doc["passages"]:
        if p["page"] == 1:
            assert p["ocr"] is None
        else:
            assert p["ocr"]["label"] == f"Text per Texterkennung, Seite {p['page']}"
        assert len(p["text"]) == p["char_end"] - p["char_start"]


# --- without Tesseract


def test_without_the_model_a_scan_stays_needs_ocr_and_the_run_goes_on(tmp_path: Path) -> None:
    env = make_ocr_env(tmp_path, ocr_tessdata_dir=tmp_path / "kein-tessdata")
    fax, bericht, notiz = (_file(env.report, n) for n in ("fax.pdf", "bericht.pdf", "notiz.txt"))
    assert fax["status"] == FileStatus.NEEDS_OCR.value
    assert "OCR unavailable: Tesseract model deu.traineddata not found in" in fax["reason"]
    assert notiz["status"] == "indexed"
    # the mixed report keeps its digital page; its warning says why the scans were not read
    assert bericht["status"] == "indexed" and bericht["ocr"] is None
    with open_runtime(env.settings, embedder=HashingEmbedder(EMBED_DIM)) as rt:
        record = rt.registry.get(fax["source"])
        assert record is not None and record.status == "needs_ocr" and record.reason == fax["reason"]


def test_ocr_switched_off_keeps_needs_ocr(tmp_path: Path) -> None:
    env = make_ocr_env(tmp_path, ocr_enabled=False)
    fax = _file(env.report, "fax.pdf")
    assert fax["status"] == "needs_ocr"
    assert fax["reason"].endswith("OCR is switched off (FOERDERSUCHE_OCR_ENABLED=false)")


def test_without_the_binding_a_scan_stays_needs_ocr(tmp_path: Path) -> None:
    """A fresh interpreter in which ``import tesserocr`` fails (as on a machine without it)."""
    pdf = tmp_path / "fax.pdf"
    pdf.write_bytes(scanned_pdf([page_text(5, sentences=4)]))
    code = (
        "import sys; sys.modules['tesserocr'] = None\n"
        "from core.errors import ParseError\n"
        "from ingest.ocr import OcrOptions\n"
        "from ingest.parse_pdf import parse_pdf\n"
        "try:\n"
        f"    parse_pdf(open({str(pdf)!r}, 'rb').read(), 'fax.pdf', doc_id='f', ocr=OcrOptions())\n"
        "except ParseError as err:\n"
        "    print(err.status.value); print(err.reason)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    status, reason = out.stdout.strip().split("\n", 1)
    assert status == "needs_ocr"
    assert "OCR unavailable: the Tesseract binding tesserocr cannot be imported" in reason
