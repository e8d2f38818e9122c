#!/usr/bin/env bash
# Static checks: ruff (lint + format check), the import contracts, mypy --strict. The test suite runs
# the same checks (tests/system/test_architecture.py), so CI fails on a finding; this script is the quick way.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
packages=(core ingest search runtime api evaluation foerdersuche)
.venv/bin/ruff check "${packages[@]}" tests || status=1
.venv/bin/ruff format --check "${packages[@]}" tests || status=1
.venv/bin/lint-imports || status=1
.venv/bin/mypy "${packages[@]}" || status=1
exit $status
