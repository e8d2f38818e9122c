#!/usr/bin/env bash
# Coverage-guided fuzzing of the parsers with atheris (libFuzzer): each target for SECONDS seconds
# (default 60), seeded with the sample corpus and, when ../shared/realworld is there, its small files.
#   bash fuzz/run.sh [SECONDS] [TARGET...]     targets: parse_html parse_pdf parse_bytes normalize
# Crashing inputs land in $FUZZ_WORK/<target>/crashes/ (default /tmp/foerdersuche-fuzz); the summary
# (executions, new coverage, crashes per target) is printed and written to $FUZZ_WORK/summary.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(parse_html parse_pdf parse_bytes normalize)
WORK=${FUZZ_WORK:-/tmp/foerdersuche-fuzz}
PY=.venv/bin/python
$PY -c "import atheris" 2>/dev/null || .venv/bin/python -m pip install -q "atheris==3.0.0"
REAL=../shared/realworld
mkdir -p "$WORK"
: > "$WORK/summary.txt"

seeds() {  # seed folder of a target: our sample files plus small real-world files (copied to $WORK only)
  local dir=$WORK/$1/seeds
  rm -rf "$dir"; mkdir -p "$dir"
  case $1 in
    parse_html) cp corpus/sample/*.html "$dir"/; [ -d $REAL/html ] && find $REAL/html -type f -size -64k -exec cp {} "$dir"/ \; ;;
    parse_pdf) cp corpus/sample/*.pdf "$dir"/; [ -d $REAL/pdf ] && find $REAL/pdf -type f -size -64k -exec cp {} "$dir"/ \; ;;
    parse_bytes) cp corpus/sample/*.{html,pdf,txt,md} "$dir"/; [ -d $REAL ] && find $REAL/html $REAL/pdf -type f -size -16k -exec cp {} "$dir"/ \; ;;
    normalize) cp corpus/sample/*.{txt,md} "$dir"/ ;;
  esac
  echo "$dir"
}

status=0
for target in "${TARGETS[@]}"; do
  mkdir -p "$WORK/$target/corpus" "$WORK/$target/crashes"
  seed_dir=$(seeds "$target")
  max_len=65536; [ "$target" = normalize ] && max_len=8192
  (cd fuzz && ../$PY "fuzz_$target.py" -max_total_time="$SECONDS_EACH" -timeout=30 -rss_limit_mb=3072 \
      -max_len=$max_len -print_final_stats=1 -artifact_prefix="$WORK/$target/crashes/" \
      "$WORK/$target/corpus" "$seed_dir") > "$WORK/$target/log.txt" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$WORK/$target/log.txt" | awk '{print $2}' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$WORK/$target/log.txt" | tail -1 | awk '{print $2}')
  crashes=$(find "$WORK/$target/crashes" -type f | wc -l)
  line="$target: ${runs:-?} executions in ${SECONDS_EACH}s, coverage ${cov:-?} edges, $crashes crashing input(s), exit $rc"
  echo "$line" | tee -a "$WORK/summary.txt"
  if [ "$crashes" -gt 0 ] || [ $rc -ne 0 ]; then
    status=1
    grep -E '^(==[0-9]+== ERROR|=== Uncaught Python exception|Traceback|[A-Za-z]+Error)' "$WORK/$target/log.txt" | head -5 | sed 's/^/    /'
  fi
done
exit $status
