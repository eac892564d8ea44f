#!/usr/bin/env bash
# Replays the last N first-parent commits of a git repository through `hourglass select` and
# reports, per commit, how many tests each hourglass binary selects, next to the package-level
# selection (the tests of the changed files' packages and of their reverse dependencies, from
# `hourglass select --level package` of the first binary).
#
# Usage: benches/replay.sh SOURCE_REPO N WORK_DIR HOURGLASS [BASELINE_HOURGLASS]
#        benches/replay.sh --table WORK_DIR/replay.tsv   (the table and means of a run so far)
#
# Each binary gets its own clone of SOURCE_REPO under WORK_DIR (so each keeps its own warm
# `.hourglass/cache` across commits); each commit C is checked out and
# `hourglass select --base C^ --format json` is run in the work tree. Writes WORK_DIR/replay.tsv
# and prints a Markdown table and the means over the commits that do not run everything.
# REPLAY_SELECT_ARGS adds arguments to the first binary's item-level selections only, for
# instance `--coverage /path/coverage.map` (a map from `hourglass coverage` of a commit before the
# first one replayed); give the same binary as BASELINE_HOURGLASS to get the selections without it.
# REPLAY_MAP_PER_PARENT=MAP instead gives each commit C that map relabelled as a map of C^ (with
# the `map_commit` example, REPLAY_MAP_COMMIT, by default target/release/examples/map_commit): an
# estimate of a map refreshed at every merge, whose tests' coverage is still MAP's own.
# Each selection's JSON is kept in WORK_DIR/json/COMMIT-{item,package,baseline}.json.
# Needs git and jq.
set -euo pipefail

# A run_all selection counts as every test.
table() {
    awk -F'\t' '
function n(all, selected, total) { return all == "true" ? total : selected }
NR == 1 { next }
{
    p = n($3, $4, $2); a = n($5, $6, $2); b = ($9 == "-") ? "-" : n($8, $9, $2)
    printf "| %s | %d | %d | %d | %s |\n", $1, $2, p, a, b
    rows++
    if ($3 != "true" && $5 != "true") { k++; sp += p; sa += a; if (b != "-") sb += b }
    if (a > p) above++
    if (b != "-" && b > p) base_above++
}
BEGIN { print "| commit | tests | package level | selected | selected (baseline) |"; print "|---|---:|---:|---:|---:|" }
END {
    printf "\n%d commits; %d do not run everything: mean package level %.1f, mean selected %.1f (%.2fx), mean baseline %.1f (%.2fx). Commits above the package level: %d (baseline: %d).\n", rows, k, sp / k, sa / k, sa / sp, sb / k, sb / sp, above + 0, base_above + 0
}' "$1"
}

if [ "${1:-}" = "--table" ] && [ $# -eq 2 ]; then
    table "$2"
    exit 0
fi
if [ $# -lt 4 ]; then
    sed -n '2,18p' "$0"
    exit 2
fi
source_repo=$1
count=$2
work=$3
hourglass=$(realpath "$4")
baseline=${5:+$(realpath "$5")}

mkdir -p "$work"
clone() {
    local dir=$work/$1
    if [ ! -d "$dir/.git" ]; then
        git -c init.defaultBranch=main clone -q "$source_repo" "$dir"
    fi
    echo "$dir"
}
after_repo=$(clone after)
before_repo=""
if [ -n "$baseline" ]; then
    before_repo=$(clone before)
fi

# `run_all total selected` of one selection.
select_counts() {
    local repo=$1 binary=$2 commit=$3 label=$4
    shift 4
    (cd "$repo" && "$binary" select --base "$commit^" --format json "$@" 2>/dev/null || true) |
        tee "$work/json/${commit:0:10}-$label.json" |
        jq -r '"\(.run_all) \(.total_tests) \(.selected | length)"' 2>/dev/null || echo "error 0 0"
}

tsv=$work/replay.tsv
mkdir -p "$work/json"
map_commit=${REPLAY_MAP_COMMIT:-$(dirname "$0")/../target/release/examples/map_commit}
printf 'commit\ttotal\tpackage_run_all\tpackage\tafter_run_all\tafter\tafter_s\tbefore_run_all\tbefore\tbefore_s\n' >"$tsv"
for commit in $(git -C "$source_repo" rev-list --first-parent -n "$count" HEAD | tac); do
    git -C "$after_repo" -c advice.detachedHead=false checkout -q --detach "$commit"
    extra=${REPLAY_SELECT_ARGS:-}
    if [ -n "${REPLAY_MAP_PER_PARENT:-}" ]; then
        "$map_commit" "$REPLAY_MAP_PER_PARENT" "$(git -C "$after_repo" rev-parse "$commit^")" \
            "$work/parent.map" >/dev/null
        extra="$extra --coverage $work/parent.map"
    fi
    start=$(date +%s.%N)
    # shellcheck disable=SC2086 # the extra arguments are words
    read -r after_all total after < <(select_counts "$after_repo" "$hourglass" "$commit" item $extra)
    after_s=$(echo "$(date +%s.%N) - $start" | bc)
    read -r package_all _ package < <(select_counts "$after_repo" "$hourglass" "$commit" package --level package)
    before_all="-" before="-" before_s="-"
    if [ -n "$before_repo" ]; then
        git -C "$before_repo" -c advice.detachedHead=false checkout -q --detach "$commit"
        start=$(date +%s.%N)
        read -r before_all _ before < <(select_counts "$before_repo" "$baseline" "$commit" baseline)
        before_s=$(echo "$(date +%s.%N) - $start" | bc)
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%s\t%s\t%s\n' "${commit:0:10}" "$total" "$package_all" \
        "$package" "$after_all" "$after" "$after_s" "$before_all" "$before" "$before_s" | tee -a "$tsv" >&2
done

table "$tsv"
