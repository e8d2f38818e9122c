"""A damaged or missing embedded index: every command says so clearly and names the recovery
(`foerdersuche reindex`), and `foerdersuche reindex` recovers: it moves a damaged index aside to
``<data_dir>/index.corrupt-<timestamp>`` and rebuilds it from the kept raw bytes.

The CLI runs in a subprocess with the hashing embedder (tests/system/test_fault_support.py's driver); the one
slow test does the same with the real model through the installed `foerdersuche` command.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from test_fault_support import CORPUS_FILES, SAMPLE, consistency_problems, run_cli

from core.settings import PROJECT_ROOT, Settings

FILES = CORPUS_FILES[:4]


def flat(text: str) -> str:
    return " ".join(text.split())


def shard(data: Path) -> Path:
    return data / "index" / "passages"


def damage_config(data: Path) -> None:
    (shard(data) / "edge_config.json").write_text("{kaputt", encoding="utf-8")


def damage_payloads(data: Path) -> None:
    for page in (shard(data) / "segments").glob("*/payload_storage/page_0.dat"):
        page.write_bytes(os.urandom(4096))


def remove_index(data: Path) -> None:
    shutil.rmtree(data / "index")


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("store")
    corpus = root / "corpus"
    corpus.mkdir()
    for name in FILES:
        shutil.copy2(SAMPLE / name, corpus / name)
    data = root / "data"
    done = run_cli(data, "ingest", str(corpus), "--json")
    assert done.returncode == 0, done.stderr
    return data


@pytest.mark.parametrize(
    ("damage", "moved"),
    [
        pytest.param(damage_config, True, id="config"),
        pytest.param(damage_payloads, True, id="payload-file"),
        pytest.param(remove_index, False, id="index-dir-missing"),
    ],
)
def test_a_damaged_index_is_reported_and_rebuilt_by_reindex(
    indexed: Path, tmp_path: Path, damage: Callable[[Path], None], moved: bool
) -> None:
    data = tmp_path / "data"
    shutil.copytree(indexed, data)
    damage(data)

    search = run_cli(data, "search", "Wasserstoff Gelsenkirchen")
    assert search.returncode == 1
    message = flat(search.stderr)  # rich wraps long lines
    assert "foerdersuche reindex" in message and "Traceback" not in message, message
    assert message.startswith("Fehler:")

    reindex = run_cli(data, "reindex", "--json")
    assert reindex.returncode == 0, reindex.stderr
    report = json.loads(reindex.stdout)
    assert {f["status"] for f in report["files"]} == {"indexed"} and len(report["files"]) == len(FILES)
    aside = sorted(p.name for p in data.iterdir() if p.name.startswith("index.corrupt-"))
    assert len(aside) == (1 if moved else 0), aside
    assert ("verschoben" in reindex.stderr) == moved

    assert consistency_problems(Settings(data_dir=data)) == []
    doctor = run_cli(data, "doctor", "--json")
    assert doctor.returncode == 0 and json.loads(doctor.stdout)["consistent"] is True
    found = run_cli(data, "search", "Wasserstoff Gelsenkirchen", "--json", "-k", "3")
    assert found.returncode == 0 and json.loads(found.stdout), found.stderr


def test_doctor_and_status_name_the_recovery(indexed: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(indexed, data)
    damage_payloads(data)
    doctor = run_cli(data, "doctor")
    assert doctor.returncode == 1 and "foerdersuche reindex" in flat(doctor.stderr), doctor.stderr
    damage_config(data)
    status = run_cli(data, "status")
    assert status.returncode == 1 and "foerdersuche reindex" in flat(status.stderr) and "Traceback" not in status.stderr


@pytest.mark.slow
def test_reindex_of_a_damaged_index_with_the_real_model(indexed: Path, tmp_path: Path) -> None:
    """The installed command, the real model: the documented recovery works end to end."""
    data = tmp_path / "data"
    shutil.copytree(indexed, data)
    shutil.rmtree(data / "index")  # the hashing index (64 dimensions) would not fit the model anyway
    (data / "index").mkdir()
    (data / "index" / "passages").mkdir()
    (data / "index" / "passages" / "edge_config.json").write_text("{kaputt", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOERDERSUCHE_")}
    env["FOERDERSUCHE_MODEL_DIR"] = str(Settings().model_path)
    cli = [str(Path(sys.executable).with_name("foerdersuche")), "--data-dir", str(data)]
    done = subprocess.run(
        [*cli, "reindex", "--json"], capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert {f["status"] for f in json.loads(done.stdout)["files"]} == {"indexed"}
    assert consistency_problems(Settings(data_dir=data)) == []
    found = subprocess.run(
        [*cli, "search", "Wasserstoff Gelsenkirchen", "--json", "-k", "3"],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=600,
    )
    assert found.returncode == 0 and json.loads(found.stdout), found.stderr
