//! The safety proof of `hourglass select`: a failing test that was not
//! selected is the one unforgivable bug.
//!
//! The fixture workspace `fixtures/workspaces/safety-shapes` is copied into a
//! temporary git repository and committed. Then, for each mutation in
//! [`mutations::MUTATIONS`], one file of the work tree is edited, the real
//! `hourglass select --format json` says which tests the change can affect,
//! the real `cargo nextest run` says which tests fail, and every failing test
//! must be among the selected ones (or the selection must be `run_all`). The
//! work tree is then restored with `git checkout -- .`. One target directory
//! is shared by all mutations, so each build is incremental.
//!
//! A mutation that does not compile cannot run tests. The binaries that no
//! longer build are found with `cargo build --tests --keep-going`; the build
//! failure must not go unnoticed, so at least one test of one of those binaries
//! must be selected (running the selection then builds that binary and fails).
//! Requiring *every* test of every broken binary would require a static
//! selector to type-check the change; how many of them were left out is
//! reported, not asserted.
//!
//! A table of mutations, failing tests and selection sizes is printed and
//! written to `$CARGO_TARGET_TMPDIR/safety-report-{1,2}.md` (one per half of
//! the mutations). A second check compares the tests of `hourglass graph
//! --format json` with `cargo nextest list` on the unmodified fixture.
//!
//! Needs `git` and `cargo-nextest` on the PATH; builds the fixture offline.

mod fixture;
mod junit;
mod mutations;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Instant;

use fixture::{Build, Selection, TestId, Workspace};
use mutations::{Expect, MUTATIONS, Mutation};

/// The fixture the mutations edit.
const SHAPES: &str = "safety-shapes";

/// `harness = false` targets of the fixture: their test names come from a
/// hand-written harness the graph cannot read, so any selected test of the
/// binary counts for all of them.
const SHAPES_HARNESS_FALSE: &[&str] = &["shapes-facade::smoke"];

/// What one mutation did.
#[derive(Debug)]
enum Verdict {
    /// These tests failed.
    Killed(BTreeSet<TestId>),
    /// Every test passed.
    Survived,
    /// The workspace did not build; the tests of these binaries could not run.
    DoesNotCompile {
        error: String,
        unbuilt: BTreeSet<String>,
        tests: BTreeSet<TestId>,
    },
}

#[derive(Debug)]
struct Row {
    mutation: Mutation,
    verdict: Verdict,
    selection: Selection,
    /// Failing tests the selection does not cover; for a mutation that does
    /// not compile, the tests of the broken binaries when none of them is selected.
    missed: Vec<TestId>,
    /// Tests of the unmodified run that the selection covers.
    selected: usize,
    seconds: f64,
}

fn covers(selection: &Selection, test: &TestId, harness_false: &[&str]) -> bool {
    selection.run_all
        || selection.tests.contains(test)
        || (harness_false.contains(&test.binary_id.as_str())
            && selection
                .tests
                .iter()
                .any(|selected| selected.binary_id == test.binary_id))
}

#[test]
fn every_mutation_applies_to_exactly_one_place() {
    let root = fixture::fixture_dir(SHAPES);
    let mut names = BTreeSet::new();
    let mut files = BTreeSet::new();
    for mutation in MUTATIONS {
        assert!(
            names.insert(mutation.name),
            "duplicate mutation name {}",
            mutation.name
        );
        files.insert(mutation.file);
        assert_ne!(
            mutation.find, mutation.replace,
            "{} changes nothing",
            mutation.name
        );
        let text = std::fs::read_to_string(root.join(mutation.file))
            .unwrap_or_else(|error| panic!("{}: read {}: {error}", mutation.name, mutation.file));
        assert_eq!(
            text.matches(mutation.find).count(),
            1,
            "{}: {:?} must occur exactly once in {}",
            mutation.name,
            mutation.find,
            mutation.file
        );
    }
    assert!(MUTATIONS.len() >= 40, "only {} mutations", MUTATIONS.len());
    assert!(
        files.len() >= 10,
        "mutations touch only {} files",
        files.len()
    );
}

// The mutations run in two halves, each in its own copy of the fixture with its
// own target directory, so that nextest runs them side by side and neither
// comes near the slow-test limit.

#[test]
fn every_failing_test_is_selected_first_half() {
    every_failing_test_is_selected(0);
}

#[test]
fn every_failing_test_is_selected_second_half() {
    every_failing_test_is_selected(1);
}

fn every_failing_test_is_selected(half: usize) {
    let middle = MUTATIONS.len().div_ceil(2);
    let mutations = if half == 0 {
        &MUTATIONS[..middle]
    } else {
        &MUTATIONS[middle..]
    };
    let started = Instant::now();
    let workspace = Workspace::create(SHAPES);

    let baseline = workspace.nextest_run();
    let Build::Ran(baseline_results) = &baseline else {
        panic!("the unmodified fixture does not build: {baseline:?}");
    };
    let baseline_failures = baseline_results.failed();
    assert!(
        baseline_failures.is_empty(),
        "tests fail on the unmodified fixture: {baseline_failures:?}"
    );
    let baseline_ran = baseline_results.ran();
    let total = baseline_ran.len();
    let binaries = workspace.nextest_list();

    let mut rows = Vec::new();
    for mutation in mutations {
        let mutation_started = Instant::now();
        workspace.apply(mutation);
        let selection = workspace.select();
        let verdict = match workspace.nextest_run() {
            Build::Ran(results) => {
                let failed = results.failed();
                if failed.is_empty() {
                    Verdict::Survived
                } else {
                    Verdict::Killed(failed)
                }
            }
            Build::Failed(error) => {
                let built = workspace.built_test_executables();
                let unbuilt: BTreeSet<String> = binaries
                    .iter()
                    .filter(|(_, listed)| !built.contains(&listed.path))
                    .map(|(binary_id, _)| binary_id.clone())
                    .collect();
                let tests = unbuilt
                    .iter()
                    .flat_map(|binary_id| {
                        binaries[binary_id]
                            .tests
                            .iter()
                            .map(|name| TestId::new(binary_id, name))
                    })
                    .collect();
                Verdict::DoesNotCompile {
                    error,
                    unbuilt,
                    tests,
                }
            }
        };
        workspace.restore();
        let missed = match &verdict {
            Verdict::Killed(failed) => failed
                .iter()
                .filter(|test| !covers(&selection, test, SHAPES_HARNESS_FALSE))
                .cloned()
                .collect(),
            Verdict::Survived => Vec::new(),
            Verdict::DoesNotCompile { tests, .. } => {
                if tests
                    .iter()
                    .any(|test| covers(&selection, test, SHAPES_HARNESS_FALSE))
                {
                    Vec::new()
                } else {
                    tests.iter().cloned().collect()
                }
            }
        };
        let selected = baseline_ran
            .iter()
            .filter(|test| covers(&selection, test, SHAPES_HARNESS_FALSE))
            .count();
        rows.push(Row {
            mutation: *mutation,
            verdict,
            selection,
            missed,
            selected,
            seconds: mutation_started.elapsed().as_secs_f64(),
        });
    }

    let report = render_report(&rows, total, started.elapsed().as_secs_f64());
    println!("{report}");
    let report_path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("safety-report-{}.md", half + 1));
    std::fs::write(&report_path, &report).expect("write the safety report");

    let violations: Vec<String> = rows
        .iter()
        .filter(|row| !row.missed.is_empty())
        .map(|row| {
            let missed: Vec<String> = row.missed.iter().map(ToString::to_string).collect();
            format!(
                "{}: failing but not selected: {}",
                row.mutation.name,
                missed.join(", ")
            )
        })
        .collect();
    let unexpected: Vec<String> = rows
        .iter()
        .filter(|row| {
            let observed = match row.verdict {
                Verdict::Killed(_) => Expect::Kill,
                Verdict::Survived => Expect::Survive,
                Verdict::DoesNotCompile { .. } => Expect::CompileError,
            };
            observed != row.mutation.expect
        })
        .map(|row| {
            format!(
                "{}: expected {:?}, got {:?}",
                row.mutation.name, row.mutation.expect, row.verdict
            )
        })
        .collect();
    assert!(
        violations.is_empty() && unexpected.is_empty(),
        "safety violations:\n{}\n\nmutations that did not do what the fixture promises:\n{}\n\n{report}",
        violations.join("\n"),
        unexpected.join("\n")
    );
}

#[test]
fn the_graph_lists_the_tests_nextest_lists() {
    let workspace = Workspace::create(SHAPES);
    let listed = workspace.nextest_list();
    let graph = workspace.graph_json();
    let entries = graph["tests"]
        .as_array()
        .expect("`hourglass graph --format json` has a `tests` list");
    let mut from_graph: BTreeSet<TestId> = BTreeSet::new();
    let mut ignored_in_graph: BTreeSet<TestId> = BTreeSet::new();
    for entry in entries {
        let id = if entry["id"].is_object() {
            &entry["id"]
        } else {
            entry
        };
        let binary_id = id["binary_id"].as_str().expect("a test has a `binary_id`");
        let name = id["name"].as_str().unwrap_or_default();
        if entry["ignored"].as_bool() == Some(true) {
            ignored_in_graph.insert(TestId::new(binary_id, name));
        }
        from_graph.insert(TestId::new(binary_id, name));
    }

    let mut from_nextest: BTreeSet<TestId> = BTreeSet::new();
    for (binary_id, binary) in &listed {
        if SHAPES_HARNESS_FALSE.contains(&binary_id.as_str()) {
            continue;
        }
        for name in binary.tests.iter().chain(&binary.ignored) {
            from_nextest.insert(TestId::new(binary_id, name));
        }
    }
    let graph_named: BTreeSet<TestId> = from_graph
        .iter()
        .filter(|test| !SHAPES_HARNESS_FALSE.contains(&test.binary_id.as_str()))
        .cloned()
        .collect();
    let only_graph: Vec<String> = graph_named
        .difference(&from_nextest)
        .map(ToString::to_string)
        .collect();
    let only_nextest: Vec<String> = from_nextest
        .difference(&graph_named)
        .map(ToString::to_string)
        .collect();
    assert!(
        only_graph.is_empty() && only_nextest.is_empty(),
        "only in the graph: {only_graph:#?}\nonly in nextest: {only_nextest:#?}"
    );

    let ignored_in_nextest: BTreeSet<TestId> = listed
        .iter()
        .flat_map(|(binary_id, binary)| {
            binary
                .ignored
                .iter()
                .map(move |name| TestId::new(binary_id, name))
        })
        .collect();
    assert_eq!(
        ignored_in_graph, ignored_in_nextest,
        "#[ignore]d tests of the graph and of nextest"
    );

    let graph_binaries: BTreeSet<&str> = from_graph
        .iter()
        .map(|test| test.binary_id.as_str())
        .collect();
    let nextest_binaries: BTreeSet<&str> = listed.keys().map(String::as_str).collect();
    assert_eq!(
        graph_binaries, nextest_binaries,
        "test binaries of the graph and of nextest"
    );
}

fn render_report(rows: &[Row], total: usize, seconds: f64) -> String {
    let mut out = String::new();
    out.push_str("| mutation | outcome | failing | selected | total | ratio | missed | s |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
    let mut ratio_sum = 0.0;
    for row in rows {
        let (outcome, failing) = match &row.verdict {
            Verdict::Killed(failed) => ("killed".to_owned(), failed.len()),
            Verdict::Survived => ("survived".to_owned(), 0),
            Verdict::DoesNotCompile {
                error,
                unbuilt,
                tests,
            } => {
                let error: String = error.chars().take(60).collect();
                let left_out = tests
                    .iter()
                    .filter(|test| !covers(&row.selection, test, SHAPES_HARNESS_FALSE))
                    .count();
                (
                    format!(
                        "does not compile: {} binaries, {} of their {} tests not selected; {error}",
                        unbuilt.len(),
                        left_out,
                        tests.len()
                    ),
                    tests.len(),
                )
            }
        };
        let selected = row.selected;
        let ratio = selected as f64 / total as f64;
        ratio_sum += ratio;
        let run_all = if row.selection.run_all {
            " (run all)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "| {} | {outcome} | {failing} | {selected}{run_all} | {total} | {ratio:.2} | {} | {:.1} |",
            row.mutation.name,
            row.missed.len(),
            row.seconds
        );
    }
    let count = rows.len();
    let safe = rows.iter().filter(|row| row.missed.is_empty()).count();
    let killed = rows
        .iter()
        .filter(|row| matches!(row.verdict, Verdict::Killed(_)))
        .count();
    let survived = rows
        .iter()
        .filter(|row| matches!(row.verdict, Verdict::Survived))
        .count();
    let broken = count - killed - survived;
    let run_all = rows.iter().filter(|row| row.selection.run_all).count();
    let _ = writeln!(
        out,
        "\nsafety: {safe}/{count} ({:.1}%), mean selection ratio {:.3}, killed {killed}, \
         killed no test {survived}, does not compile {broken}, run_all {run_all}, {seconds:.0} s",
        100.0 * safe as f64 / count as f64,
        ratio_sum / count as f64,
    );
    for row in rows.iter().filter(|row| !row.missed.is_empty()) {
        let _ = writeln!(out, "\nnot selected after `{}`:", row.mutation.name);
        for test in &row.missed {
            let _ = writeln!(out, "- {test}");
        }
    }
    out
}
