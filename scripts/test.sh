#!/usr/bin/env bash
# The whole test suite. On a fresh clone it installs what it needs by itself (.venv, the model,
# Debian's chromium for the browser tests, Tesseract with its German model for OCR). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi dejavu; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  fi
fi
# Tesseract and its German model for OCR of scanned PDF pages (Debian's packages; without them such
# files stay needs_ocr with that reason)
if ! command -v tesseract >/dev/null 2>&1 || ! tesseract --list-langs 2>/dev/null | grep -qx deu; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-deu >/dev/null
  fi
fi
.venv/bin/foerdersuche model install
exec .venv/bin/python -m pytest "$@"
