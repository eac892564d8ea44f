#!/bin/sh
# Compares hourglass's per-change files and lines with git's over a whole
# first-parent history: prints the changes where they differ and a count.
#
#   benches/numstat_check.sh /path/to/checkout [path/to/numstat-example]
#
# The example is built with
# `cargo build --release -p hourglass-git --example numstat`.
set -eu
repo=$1
numstat=${2:-target/release/examples/numstat}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$numstat" "$repo" > "$tmp/ours"
git -C "$repo" log --first-parent --numstat --no-renames --format='%x01%H' |
  awk -F '\t' '
    /^\001/ { if (c) print c, f, a, d; c = substr($0, 2); f = a = d = 0; next }
    NF >= 3 { f++; if ($1 != "-") { a += $1; d += $2 } }
    END { if (c) print c, f, a, d }' > "$tmp/git"
if diff "$tmp/git" "$tmp/ours" > "$tmp/diff"; then
  echo "$(wc -l < "$tmp/git") changes, all equal"
else
  cat "$tmp/diff"
  echo "$(grep -c '^<' "$tmp/diff") of $(wc -l < "$tmp/git") changes differ (< git, > hourglass)"
  exit 1
fi
