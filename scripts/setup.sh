#!/usr/bin/env bash
# One command on a fresh machine: install, provision the model offline, ingest the bundled sample
# corpus into the embedded index (Qdrant Edge in ./data), and run the example query.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
FS=.venv/bin/foerdersuche
# Tesseract and its German model for OCR of scanned PDF pages (Debian's packages; without them such
# files stay needs_ocr with that reason)
if ! command -v tesseract >/dev/null 2>&1 || ! tesseract --list-langs 2>/dev/null | grep -qx deu; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-deu >/dev/null
  fi
fi
$FS model install
$FS ingest corpus/sample
$FS status
$FS search "Projekte Kreislaufwirtschaft Kreis Unna" -k 5
