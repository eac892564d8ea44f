#!/usr/bin/env python3
"""Times Python JUnit readers on the file the junit bench reads, for comparison.

    cargo run --release -p hourglass-junit --example junit_dump -- --write /tmp/synthetic-100mb.xml 104857600
    pip install junitparser
    python3 benches/junitparser_baseline.py /tmp/synthetic-100mb.xml

It generates nothing itself. Each reader runs in its own child process, so
that each peak RSS (resource.getrusage, ru_maxrss) is its own:

- junitparser: JUnitXml.fromfile, then every suite, case and result visited
  (it builds the whole tree, with lxml when installed, else ElementTree);
- ElementTree iterparse: a streaming loop that classifies each <testcase>
  by its children and clears it, the fair streaming baseline.

Prints MB/s (bytes of the file / wall seconds, median of --runs) and peak RSS
in MB for each.
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import time


def run_junitparser(path):
    from junitparser import Error, Failure, JUnitXml, TestSuite

    xml = JUnitXml.fromfile(path)
    suites = [xml] if isinstance(xml, TestSuite) else list(xml)
    cases = failures = 0
    stack = list(suites)
    while stack:
        suite = stack.pop()
        for child in suite:
            if isinstance(child, TestSuite):
                stack.append(child)
                continue
            cases += 1
            if any(isinstance(result, (Failure, Error)) for result in child.result):
                failures += 1
    return cases, failures


def run_iterparse(path):
    import xml.etree.ElementTree as ET

    cases = failures = 0
    for event, elem in ET.iterparse(path, events=("end",)):
        if elem.tag == "testcase":
            cases += 1
            if any(child.tag in ("failure", "error") for child in elem):
                failures += 1
            elem.clear()
        elif elem.tag == "testsuite":
            elem.clear()
    return cases, failures


READERS = {"junitparser": run_junitparser, "iterparse": run_iterparse}


def child(mode, path):
    started = time.perf_counter()
    cases, failures = READERS[mode](path)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_mb": peak_kb / 1024, "cases": cases, "failures": failures}))


def main():
    args = sys.argv[1:]
    if args and args[0] == "--one":
        child(args[1], args[2])
        return
    runs = 3
    if "--runs" in args:
        at = args.index("--runs")
        runs = int(args[at + 1])
        del args[at : at + 2]
    if len(args) != 1:
        sys.exit(__doc__)
    path = args[0]
    size_mb = os.path.getsize(path) / 1e6
    print(f"input: {path}, {size_mb:.1f} MB, {runs} runs each (median)")
    for mode in READERS:
        results = []
        for _ in range(runs):
            out = subprocess.run(
                [sys.executable, __file__, "--one", mode, path], check=True, capture_output=True, text=True
            ).stdout
            results.append(json.loads(out))
        seconds = statistics.median(r["seconds"] for r in results)
        peak = max(r["peak_mb"] for r in results)
        print(
            f"{mode:12} {size_mb / seconds:8.1f} MB/s  peak RSS {peak:8.1f} MB  "
            f"({results[0]['cases']} testcases, {results[0]['failures']} failed or errored)"
        )


if __name__ == "__main__":
    main()
