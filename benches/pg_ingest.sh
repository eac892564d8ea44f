#!/usr/bin/env bash
# `hourglass ingest` of one JUnit file into SQLite and into PostgreSQL, side by side: ROUNDS
# interleaved rounds, a fresh store for every run (a new SQLite file; a new database on the
# server, dropped after), then the medians and the ratio. Prints the load average with each run.
# With REPEAT=1 in the environment, the file first goes into each fresh store as another run
# (not timed), so that the timed run finds its tests stored: a CI's every run after the first.
#
# Usage: benches/pg_ingest.sh HOURGLASS POSTGRES_URL FILE [ROUNDS] [BASELINE_HOURGLASS]
#
# POSTGRES_URL names a server where its user may create databases (`.ci/postgres start` prints
# one as HOURGLASS_TEST_PG). With BASELINE_HOURGLASS, each round also ingests into PostgreSQL
# with that binary (to compare two versions of the write path in the same window).
# The 100 MB file of the README:
#   cargo run --release -p hourglass-junit --example junit_dump -- --write /tmp/big.xml 104857600
# Needs psql and GNU time.
set -euo pipefail

binary=${1:?HOURGLASS}
url=${2:?POSTGRES_URL}
file=${3:?FILE}
rounds=${4:-3}
baseline=${5:-}
export PGOPTIONS="-c client_min_messages=warning"
work=$(mktemp -d /tmp/hourglass-pg-ingest.XXXXXX)
database="hourglass_bench_$$"
with_database() {
    local base=${url%%\?*} query=
    [[ $url == *\?* ]] && query="?${url#*\?}"
    local rest=${base#*://}
    echo "${base%%://*}://${rest%%/*}/$1$query"
}
admin=$(with_database postgres)
trap 'psql -X -q "$admin" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

one() { # NAME BINARY DB
    if [ "${REPEAT:-0}" = 1 ]; then
        "$2" ingest --db "$3" --run-id before --commit abc "$file" >/dev/null 2>"$work/stderr" ||
            { cat "$work/stderr" >&2; exit 1; }
    fi
    /usr/bin/time -o "$work/time" -f '%e %M' "$2" ingest --db "$3" --run-id bench --commit abc "$file" \
        >/dev/null 2>"$work/stderr" || { cat "$work/stderr" >&2; exit 1; }
    read -r seconds rss <"$work/time"
    printf '%s\t%s\t%s\t%s\n' "$1" "$seconds" "$rss" "$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$work/runs.tsv"
}
fresh_pg() {
    psql -X -q "$admin" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" -c "CREATE DATABASE $database" >/dev/null
    with_database "$database"
}

printf 'store\tseconds\tpeak_rss_kb\tload\n'
for _ in $(seq "$rounds"); do
    rm -f "$work"/h.db*
    one sqlite "$binary" "$work/h.db"
    one postgres "$binary" "$(fresh_pg)"
    if [ -n "$baseline" ]; then
        one postgres-baseline "$baseline" "$(fresh_pg)"
    fi
done
awk -F'\t' '
{ t[$1] = t[$1] " " $2 }
function median(list,   n, a, i, j, x) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j > 0 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
END {
    s = median(t["sqlite"]); p = median(t["postgres"])
    printf "median: sqlite %.2f s, postgres %.2f s, ratio %.2f\n", s, p, p / s
    if ("postgres-baseline" in t) {
        b = median(t["postgres-baseline"])
        printf "median: postgres-baseline %.2f s, ratio %.2f\n", b, b / s
    }
}' "$work/runs.tsv"
