//! How many of the tests cargo-nextest lists the graph knows:
//!
//! ```text
//! cargo nextest list --workspace --message-format json > list.json   # in the workspace
//! cargo run --release -p hourglass-graph --example nextest_coverage -- DIR list.json [--all]
//! ```
//!
//! A listed test `<binary id> <name>` is known when the graph of DIR has a test of that id, or a
//! parameterised test (`#[test_case]`, `#[rstest]`) whose name is a prefix of it
//! (`name::case`), or the binary is a `harness = false` target (one test named `""`). Prints
//! the share known, the count per binary with unknown tests, and the first unknown ones (all
//! with `--all`). The graph's tests that nextest does not list are counted too.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;

use hourglass_graph::{BuildOptions, Graph};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = args.iter().any(|arg| arg == "--all");
    let positional: Vec<&String> = args.iter().filter(|arg| !arg.starts_with("--")).collect();
    let [workspace, list] = positional.as_slice() else {
        eprintln!("usage: nextest_coverage WORKSPACE NEXTEST_LIST_JSON [--all]");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(list) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("{list}: {error}");
            return ExitCode::from(2);
        }
    };
    let listed = match listed_tests(&text) {
        Ok(listed) => listed,
        Err(error) => {
            eprintln!("{list}: {error}");
            return ExitCode::from(2);
        }
    };
    let graph = match Graph::build(&PathBuf::from(workspace), &BuildOptions::default()) {
        Ok(graph) => graph,
        Err(error) => {
            eprintln!("{workspace}: {error}");
            return ExitCode::from(2);
        }
    };
    let exact: HashSet<(&str, &str)> = graph
        .tests()
        .iter()
        .map(|test| (test.id.binary_id.as_str(), test.id.name.as_str()))
        .collect();
    let prefixes: Vec<(&str, String)> = graph
        .tests()
        .iter()
        .filter(|test| test.parameterized)
        .map(|test| (test.id.binary_id.as_str(), format!("{}::", test.id.name)))
        .collect();
    let known = |binary: &str, name: &str| {
        exact.contains(&(binary, name))
            || exact.contains(&(binary, ""))
            || prefixes
                .iter()
                .any(|(b, prefix)| *b == binary && name.starts_with(prefix.as_str()))
    };
    let mut unknown: Vec<&(String, String)> = Vec::new();
    let mut per_binary: BTreeMap<&str, usize> = BTreeMap::new();
    for test in &listed {
        if !known(&test.0, &test.1) {
            unknown.push(test);
            *per_binary.entry(test.0.as_str()).or_default() += 1;
        }
    }
    let listed_ids: HashSet<(&str, &str)> = listed
        .iter()
        .map(|(binary, name)| (binary.as_str(), name.as_str()))
        .collect();
    let listed_binaries: HashSet<&str> = listed.iter().map(|(binary, _)| binary.as_str()).collect();
    let unlisted: Vec<String> = graph
        .tests()
        .iter()
        .filter(|test| listed_binaries.contains(test.id.binary_id.as_str()))
        .filter(|test| !test.parameterized && !test.id.name.is_empty())
        .filter(|test| !listed_ids.contains(&(test.id.binary_id.as_str(), test.id.name.as_str())))
        .map(|test| test.id.to_string())
        .collect();
    let known_count = listed.len() - unknown.len();
    #[allow(clippy::cast_precision_loss)]
    let share = if listed.is_empty() {
        100.0
    } else {
        known_count as f64 * 100.0 / listed.len() as f64
    };
    println!(
        "known {known_count} of {} listed tests ({share:.1}%); graph tests nextest does not list (in listed binaries): {}",
        listed.len(),
        unlisted.len()
    );
    if all && !unlisted.is_empty() {
        println!("graph tests nextest does not list:");
        for id in &unlisted {
            println!("  {id}");
        }
    }
    if !per_binary.is_empty() {
        println!("unknown per binary:");
        for (binary, count) in &per_binary {
            println!("  {count:6}  {binary}");
        }
        println!("unknown tests:");
        let shown = if all { unknown.len() } else { 20 };
        for (binary, name) in unknown.iter().take(shown) {
            println!("  {binary} {name}");
        }
        if unknown.len() > shown {
            println!("  … {} more (--all)", unknown.len() - shown);
        }
    }
    ExitCode::SUCCESS
}

/// `(binary id, test name)` of every test in `cargo nextest list --message-format json`.
fn listed_tests(text: &str) -> Result<Vec<(String, String)>, String> {
    let document: serde_json::Value =
        serde_json::from_str(text).map_err(|error| format!("not JSON: {error}"))?;
    let suites = document
        .get("rust-suites")
        .and_then(serde_json::Value::as_object)
        .ok_or(
            "no `rust-suites` object: not the output of `cargo nextest list --message-format json`",
        )?;
    let mut out = Vec::new();
    for (binary, suite) in suites {
        let Some(cases) = suite
            .get("testcases")
            .and_then(serde_json::Value::as_object)
        else {
            continue;
        };
        out.extend(cases.keys().map(|name| (binary.clone(), name.clone())));
    }
    out.sort();
    Ok(out)
}
