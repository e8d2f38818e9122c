"""Static contracts, checked as tests: the dependency direction (pyproject.toml [tool.importlinter]),
ruff lint and format, and mypy --strict over every package."""

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


PACKAGES = ("core", "ingest", "search", "api", "evaluation", "foerdersuche")


def _tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name(name)
    return subprocess.run([str(exe), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing_and_the_code_is_formatted() -> None:
    """The lint rules and formatting of pyproject.toml [tool.ruff] hold for the code and the tests."""
    for args in (("check", *PACKAGES, "tests"), ("format", "--check", *PACKAGES, "tests")):
        proc = _tool("ruff", *args)
        assert proc.returncode == 0, f"ruff {' '.join(args)}:\n{proc.stdout}{proc.stderr}"


def test_mypy_strict_finds_nothing() -> None:
    proc = _tool("mypy", *PACKAGES)
    assert proc.returncode == 0, proc.stdout + proc.stderr
