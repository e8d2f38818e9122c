#!/usr/bin/env bash
# One command on a fresh machine: install, provision the model offline, ingest the bundled sample
# corpus into the embedded index (Qdrant Edge in ./data), and run the example query.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
FS=.venv/bin/foerdersuche
$FS model install
$FS ingest corpus/sample
$FS status
$FS search "Projekte Kreislaufwirtschaft Kreis Unna" -k 5
