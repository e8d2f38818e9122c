"""The dependency direction is a contract (pyproject.toml [tool.importlinter]), checked here."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_nothing_heavy_is_imported_at_import_time() -> None:
    code = (
        "import sys, core.analysis, core.store, ingest.pipeline, search.engine, foerdersuche.cli;"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'qdrant_edge', 'qdrant_client') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
