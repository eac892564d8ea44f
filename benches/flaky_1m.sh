#!/usr/bin/env bash
# `hourglass flaky`, `slow` and `owners` over a generated history of TESTS × RUNS
# results (default 10,000 × 100 = 1M) in SQLite and in PostgreSQL, side by side.
#
# Usage: benches/flaky_1m.sh HOURGLASS FLAKY_HISTORY WORK_DIR POSTGRES_URL [TESTS [RUNS]]
#
#   HOURGLASS       a release binary (cargo build --release --bin hourglass)
#   FLAKY_HISTORY   the generator (cargo build --release -p hourglass-review --example flaky_history)
#   WORK_DIR        scratch: the JUnit files and the SQLite store go there
#   POSTGRES_URL    an empty database (eval "$(.ci/postgres start)"; createdb)
#
# Writes the runs' JUnit files, ingests each as its run into WORK_DIR/history.db and
# POSTGRES_URL (skipped when already done), then times the three commands with hyperfine
# (medians) and their peak RSS with /usr/bin/time -v, printing `uptime` beside each.
set -euo pipefail
if [ $# -lt 4 ]; then
    sed -n 2,12p "$0" >&2
    exit 2
fi
# Absolute paths: the timing step runs inside WORK_DIR.
absolute() { if [ -e "$1" ]; then realpath "$1"; else command -v "$1"; fi; }
hourglass=$(absolute "$1") generator=$(absolute "$2") work=$(realpath -m "$3") url=$4 tests=${5:-10000} runs=${6:-100}
db="$work/history.db"
mkdir -p "$work"
if [ ! -f "$work/runs.tsv" ]; then
    "$generator" "$work/junit" "$tests" "$runs"
    mv "$work/junit/runs.tsv" "$work/runs.tsv"
fi
ingest() {
    local target=$1
    while IFS=$'\t' read -r file run commit timestamp; do
        "$hourglass" ingest --db "$target" --run-id "$run" --commit "$commit" \
            --branch main --timestamp "$timestamp" "$work/junit/$file" >/dev/null
    done <"$work/runs.tsv"
}
if [ ! -f "$work/ingested.sqlite" ]; then
    echo "ingesting into $db" >&2
    /usr/bin/time -f "sqlite ingest: %e s" bash -c "$(declare -f ingest); hourglass='$hourglass' work='$work'; ingest '$db'"
    touch "$work/ingested.sqlite"
fi
if [ ! -f "$work/ingested.postgres" ]; then
    echo "ingesting into PostgreSQL" >&2
    /usr/bin/time -f "postgres ingest: %e s" bash -c "$(declare -f ingest); hourglass='$hourglass' work='$work'; ingest '$url'"
    touch "$work/ingested.postgres"
fi
cd "$work"
for command in flaky slow owners; do
    uptime
    hyperfine -N -w 1 -r "${RUNS_EACH:-10}" \
        -n "$command sqlite" "$hourglass $command --db $db --since 2026-01-01 --format json" \
        -n "$command postgres" "$hourglass $command --db $url --since 2026-01-01 --format json"
    uptime
done
for target in "$db" "$url"; do
    for command in flaky slow owners; do
        /usr/bin/time -f "$command ${target%%:*}: %M KB peak RSS, %e s" \
            "$hourglass" "$command" --db "$target" --since 2026-01-01 --format json >/dev/null
    done
done
