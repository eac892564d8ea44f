#!/usr/bin/env python3
"""The floor a safe selector cannot go below, on a real repository's history.

For each of the last N first-parent commits that change Rust files, in a checkout
of a Cargo workspace:

1. `hourglass select --base C^ --format json` at C: the selection for the real change.
2. Every function whose body the commit changed is made to panic on entry.
3. The whole suite runs (`cargo nextest run --workspace --no-fail-fast`) with and
   without that mutation; the tests that fail only with it are the floor: every
   one of them must be in the selection. A failing test that was not selected is
   run twice more with the mutation; if it passes either time it is flaky, not
   the mutation's doing, and is reported apart.

Prints a Markdown table: tests failing (the floor), selected, total, and the failing
tests that were not selected (missed: must be 0). Usage:

    python3 benches/selection_floor.py --hourglass target/release/hourglass \\
        --repo /tmp/ripgrep --commits 5 [--target-dir /tmp/floor-target] [--rev main]

`--commit SHA` (repeatable) takes those commits instead of the last N (merges too: the
change is measured against the first parent). `--package P` (repeatable) runs only those
packages' tests (`cargo nextest run -p P`) and counts only their tests in the selection:
the floor within those packages, for a workspace whose whole suite is too large to run
twice per commit.

The checkout is reset with `git checkout -f` and `git clean -fdx -e target`:
use a scratch clone. Cost: two suite runs per commit.
"""

import argparse
import json
import os
import re
import subprocess
import sys

FAIL = re.compile(r"^\s*(?:FAIL|SIGSEGV|SIGABRT|TIMEOUT|ABORT)\s+\[[^\]]*\]\s+(?:\(\s*\d+/\d+\)\s+)?(\S+)\s+(\S+)\s*$")


def run(cmd, cwd, check=True, env=None):
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    if check and result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{result.stderr[-4000:]}")
    return result


def strip_code(text):
    """The text with comments, strings and char literals blanked (same length, lines kept)."""
    out = list(text)
    i, n = 0, len(text)

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(i, j)
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            end = n if end < 0 else end + 1 + len(hashes)
            blank(i + 1, end)
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            blank(i + 1, j)
            i = j + 1
        elif c == "'":
            m = re.match(r"'(\\.|\\u\{[0-9a-fA-F]+\}|\\x[0-9a-fA-F]{2}|[^\\'])'", text[i:i + 12])
            if m:
                blank(i + 1, i + len(m.group(0)) - 1)
                i += len(m.group(0))
            else:
                i += 1  # a lifetime
        else:
            i += 1
    return "".join(out)


FN = re.compile(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)")


def functions(text):
    """(name, body_open_offset, body_close_offset) of every fn with a body."""
    code = strip_code(text)
    found = []
    for m in FN.finditer(code):
        # The body opens at the first `{` after the signature, unless a `;` comes first.
        depth, j = 0, m.end()
        while j < len(code):
            ch = code[j]
            if ch in "(<[":
                depth += 1
            elif ch in ")>]":
                depth -= 1 if depth else 0
            elif ch == ";" and depth == 0:
                j = -1
                break
            elif ch == "{" and depth == 0:
                break
            j += 1
        if j < 0 or j >= len(code):
            continue
        open_at, level, k = j, 0, j
        while k < len(code):
            if code[k] == "{":
                level += 1
            elif code[k] == "}":
                level -= 1
                if level == 0:
                    break
            k += 1
        found.append((m.group(1), open_at, k))
    return found


def changed_lines(repo, parent, commit, path):
    diff = run(["git", "diff", "-U0", parent, commit, "--", path], repo).stdout
    lines = set()
    for m in re.finditer(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", diff, re.M):
        start, count = int(m.group(1)), int(m.group(2) or 1)
        # A pure deletion still changes the function around it.
        lines.update(range(start, start + max(count, 1)))
    return lines


def mutate(repo, parent, commit):
    """Makes every function whose body the commit changed panic on entry; returns their names."""
    names = run(["git", "diff", "--name-only", "--diff-filter=AM", parent, commit, "--", "*.rs"], repo).stdout.split()
    mutated = []
    for path in names:
        full = os.path.join(repo, path)
        if not os.path.exists(full):
            continue
        text = open(full, encoding="utf-8", errors="surrogateescape").read()
        lines = changed_lines(repo, parent, commit, path)
        line_of = lambda offset: text.count("\n", 0, offset) + 1
        inserts = []
        for name, open_at, close_at in functions(text):
            body = range(line_of(open_at), line_of(close_at) + 1)
            inner = [fn for fn in functions(text) if open_at < fn[1] < close_at]
            if not any(line in lines for line in body):
                continue
            # Only when the change is in this function and not wholly inside a nested one.
            own = [l for l in body if l in lines and not any(line_of(f[1]) <= l <= line_of(f[2]) for f in inner)]
            if own:
                inserts.append(open_at + 1)
                mutated.append(f"{path}::{name}")
        for at in sorted(inserts, reverse=True):
            text = text[:at] + ' if ::core::hint::black_box(true) { panic!("hourglass floor probe") } ' + text[at:]
        open(full, "w", encoding="utf-8", errors="surrogateescape").write(text)
    return mutated


def failing(repo, env, extra=(), packages=()):
    # A workspace may ask for a newer toolchain than it needs.
    scope = [arg for p in packages for arg in ("-p", p)] or ["--workspace"]
    command = ["cargo", "nextest", "run", *scope, "--no-fail-fast", "--color", "never", "--ignore-rust-version", *extra]
    result = run(command, repo, check=False, env=env)
    if not re.search(r"^\s*Summary \[", result.stderr + result.stdout, re.M):
        print(result.stderr[-2000:], file=sys.stderr)
        return None
    return {(m.group(1), m.group(2)) for line in result.stderr.splitlines() + result.stdout.splitlines() if (m := FAIL.match(line))}


def is_selected(selection, binary, name):
    if selection["run_all"]:
        return True
    for test in selection["selected"]:
        if test["binary_id"] != binary:
            continue
        if test.get("whole_binary") or test["name"] == name:
            return True
        if test.get("parameterized") and name.startswith(test["name"] + "::"):
            return True
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hourglass", required=True)
    parser.add_argument("--repo", required=True)
    parser.add_argument("--commits", type=int, default=5)
    parser.add_argument("--rev", default="HEAD")
    parser.add_argument("--target-dir", default=None)
    parser.add_argument("--skip", type=int, default=0, help="leave out the newest N candidate commits")
    parser.add_argument("--commit", action="append", default=[], help="this commit (repeatable)")
    parser.add_argument("--package", action="append", default=[], help="run only this package's tests (repeatable)")
    parser.add_argument("--select-arg", action="append", default=[], help="an argument for `hourglass select` (repeatable), e.g. --select-arg=--coverage --select-arg=MAP")
    args = parser.parse_args()
    packages = args.package
    # nextest's binary ids start with the package name: `pkg`, `pkg::bin`, `pkg::test/name`.
    in_scope = lambda binary: not packages or binary.split("::")[0] in packages
    repo = os.path.abspath(args.repo)
    hourglass = os.path.abspath(args.hourglass)
    env = dict(os.environ)
    if args.target_dir:
        env["CARGO_TARGET_DIR"] = args.target_dir
    start = run(["git", "rev-parse", args.rev], repo).stdout.strip()
    if args.commit:
        log = [run(["git", "log", "-1", "--format=%H %s", c], repo).stdout.strip() for c in args.commit]
    else:
        log = run(["git", "log", "--first-parent", "--no-merges", "--format=%H %s", start, "--", "*.rs"], repo).stdout.splitlines()
    rows = []
    for line in log[args.skip:]:
        if len(rows) >= args.commits:
            break
        commit, subject = line.split(" ", 1)
        parent = commit + "^"
        run(["git", "checkout", "-q", "-f", commit], repo)
        run(["git", "clean", "-q", "-fdx", "-e", "target", "-e", ".hourglass"], repo)
        selection = json.loads(run([hourglass, "select", "--base", parent, "--format", "json", *args.select_arg], repo).stdout)
        before = failing(repo, env, packages=packages)
        if before is None:
            print(f"{commit[:10]}: does not build, skipped", file=sys.stderr)
            continue
        mutated = mutate(repo, parent, commit)
        if not mutated:
            continue
        after = failing(repo, env, packages=packages)
        if after is None:
            run(["git", "checkout", "-q", "-f", commit], repo)
            print(f"{commit[:10]}: the mutation does not build, skipped", file=sys.stderr)
            continue
        floor = sorted(after - before)
        missed = [t for t in floor if not is_selected(selection, *t)]
        # A test that fails once is not yet the mutation's doing: run the unselected ones
        # twice more with the mutation in place; one that passes either time is flaky.
        flaky = set()
        for _ in range(2):
            if not missed:
                break
            filterset = " | ".join(f"(binary_id(={b}) & test(={n}))" for b, n in missed)
            again = failing(repo, env, ["-E", filterset], packages) or set()
            flaky.update(t for t in missed if t not in again)
        run(["git", "checkout", "-q", "-f", commit], repo)
        floor = [t for t in floor if t not in flaky]
        missed = [t for t in missed if t not in flaky]
        for test in sorted(flaky):
            print(f"    flaky (passed when run again with the mutation): {test[0]} {test[1]}", file=sys.stderr)
        listed = run(["cargo", "nextest", "list", *[a for p in packages for a in ("-p", p)], "--ignore-rust-version", "--message-format", "json"], repo, env=env) if packages else None
        total = selection["total_tests"]
        if listed is not None:
            suites = json.loads(listed.stdout)["rust-suites"]
            total = sum(len(s["testcases"]) for s in suites.values())
        if selection["run_all"]:
            size = total
        else:
            size = len([t for t in selection["selected"] if in_scope(t["binary_id"])])
        rows.append((commit[:10], subject[:50], len(mutated), len(floor), size, total, selection["run_all"], missed))
        print(f"{commit[:10]} mutated {len(mutated)} fn, floor {len(floor)}, selected {size}/{total}, missed {len(missed)}", file=sys.stderr)
        for test in missed:
            print(f"    missed: {test[0]} {test[1]}", file=sys.stderr)
    run(["git", "checkout", "-q", "-f", start], repo)
    print("| commit | change | functions made to panic | tests failing (floor) | selected | of | missed |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for commit, subject, fns, floor, size, total, run_all, missed in rows:
        note = " (all)" if run_all else ""
        print(f"| `{commit}` | {subject} | {fns} | {floor} | {size}{note} | {total} | {len(missed)} |")
    total_floor = sum(r[3] for r in rows)
    total_missed = sum(len(r[7]) for r in rows)
    print(f"\n{len(rows)} commits; {total_floor} failing tests in all, {total_missed} not selected")


if __name__ == "__main__":
    main()
