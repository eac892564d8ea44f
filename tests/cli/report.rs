//! `hourglass report`: the weekly report from a real git history and a real
//! result history, on an empty history, for a past week, written atomically.

use std::process::Command;

use crate::support::{TempRepo, stderr, stdout};

/// Commits on a branch and merges it with `--no-ff` at `merge_at` (RFC 3339),
/// the branch's commit made `lead_hours` earlier.
fn merge_change(repo: &TempRepo, name: &str, merge_at: &str, lead_hours: i64) {
    let merge: jiff::Timestamp = merge_at.parse().unwrap();
    let first = merge - jiff::SignedDuration::from_hours(lead_hours);
    let git = |at: &str, args: &[&str]| {
        let output = Command::new("git")
            .args(args)
            .current_dir(repo.path())
            .env("GIT_AUTHOR_DATE", at)
            .env("GIT_COMMITTER_DATE", at)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    git(merge_at, &["checkout", "-q", "-b", name]);
    repo.write(&format!("src/{name}.txt"), name);
    git(&first.to_string(), &["add", "-A"]);
    git(&first.to_string(), &["commit", "-q", "-m", name]);
    git(merge_at, &["checkout", "-q", "main"]);
    git(
        merge_at,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            &format!("Merge {name}"),
            name,
        ],
    );
}

fn junit(at: &str, ranks_fails: bool) -> String {
    let failure = if ranks_fails {
        r#"<failure message="boom">assert</failure>"#
    } else {
        ""
    };
    format!(
        r#"<?xml version="1.0"?>
<testsuites><testsuite name="shop" tests="2" timestamp="{at}" time="95.5">
<testcase classname="tests.search" name="ranks" file="tests/search.py" time="30.0">{failure}</testcase>
<testcase classname="tests.orders" name="places" file="tests/orders.py" time="60.0"/>
</testsuite></testsuites>"#
    )
}

/// Three weeks (2026-W10 to W12) of merged changes and one run per change;
/// `tests.search ranks` red for two runs in W11.
fn shop() -> TempRepo {
    let repo = TempRepo::new();
    repo.write(".github/CODEOWNERS", "/tests/search.py @shop/search\n");
    repo.write("tests/search.py", "");
    repo.write("tests/orders.py", "");
    let output = Command::new("git")
        .args(["add", "-A"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let output = Command::new("git")
        .args(["commit", "-q", "-m", "start"])
        .current_dir(repo.path())
        .env("GIT_AUTHOR_DATE", "2026-03-02T08:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-03-02T08:00:00Z")
        .output()
        .unwrap();
    assert!(output.status.success());
    let mut run = 0;
    for (week_monday, count) in [("2026-03-02", 2), ("2026-03-09", 3), ("2026-03-16", 4)] {
        for i in 0..count {
            run += 1;
            let at = format!("{week_monday}T1{i}:00:00Z");
            merge_change(&repo, &format!("change-{run}"), &at, 2 + i64::from(i));
            let red = week_monday == "2026-03-09" && i < 2;
            let file = format!("run-{run}.xml");
            let started = format!("{week_monday}T1{i}:05:00Z");
            repo.write(&file, junit(&started, red));
            let output = repo.run(&[
                "ingest",
                "--run-id",
                &format!("run-{run}"),
                "--commit",
                &format!("c{run}"),
                "--timestamp",
                &started,
                &file,
            ]);
            assert!(output.status.success(), "{}", stderr(&output));
        }
    }
    repo
}

#[test]
fn report_on_an_empty_history_says_what_to_ingest() {
    let repo = TempRepo::new();
    let output = repo.run(&["report"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.starts_with("# QA capacity report"), "{text}");
    assert!(text.contains("hourglass ingest"), "{text}");
    let output = repo.run(&["report", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["answer"], "unknown");
    assert_eq!(json["weeks"].as_array().unwrap().len(), 0);
}

#[test]
fn report_reads_merged_changes_runs_and_ci_jobs() {
    let repo = shop();
    let jobs = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/ci-jobs/github-run-jobs.json")
        .display()
        .to_string();
    assert!(repo.run(&["ingest", "--ci-jobs", &jobs]).status.success());
    let output = repo.run(&["report", "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["week"], "2026-W12");
    assert_eq!(json["totals"]["runs"], 9);
    // The first commit is a change too.
    assert_eq!(json["totals"]["changes"], 10);
    assert_eq!(json["totals"]["ci_jobs"], 3);
    assert_ne!(json["answer"], "unknown", "{}", json["headline"]);
    let headline = json["headline"].as_str().unwrap();
    assert!(headline.contains("+50% change volume"), "{headline}");
    let weeks = json["weeks"].as_array().unwrap();
    let changes: Vec<u64> = weeks
        .iter()
        .map(|w| w["changes"].as_u64().unwrap())
        .collect();
    assert_eq!(changes, [3, 3, 4]);
    // W10 merges branches whose commit came 2 and 3 hours before.
    assert_eq!(weeks[0]["lead_time_p50_s"], 2.5 * 3600.0);
    // Red from run 3 (W11, 10:05) to run 5 (W11, 12:05): two hours to green.
    assert_eq!(weeks[1]["fixes"], 1);
    assert_eq!(weeks[1]["time_to_green_p50_s"], 2.0 * 3600.0);
    // 90 s of tests per run, one run per change.
    assert_eq!(weeks[2]["test_time_per_change_s"], 90.0);
    // The suite's timestamp and time say each run took 95.5 s.
    assert_eq!(weeks[2]["wall_time_per_run_s"], 95.5);
    assert_eq!(weeks[2]["flaky_time_s"], 0.0);
    // The CI jobs are in 2026-W10: 36 s and 2 min 25 s waits.
    assert_eq!(weeks[0]["ci_jobs"], 3);
    assert_eq!(weeks[0]["queue_wait_p50_s"], 36.0);
}

#[test]
fn report_for_a_past_week_reads_nothing_after_it() {
    let repo = shop();
    let output = repo.run(&["report", "--week", "2026-W11", "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["week"], "2026-W11");
    assert_eq!(json["totals"]["changes"], 6);
    assert_eq!(json["totals"]["runs"], 5);
    let bad = repo.run(&["report", "--week", "week eleven"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--week"), "{}", stderr(&bad));
}

#[test]
fn report_html_goes_to_a_file_atomically_with_every_chart() {
    let repo = shop();
    let output = repo.run(&["report", "--format", "html", "-o", "out/report.html"]);
    assert!(!output.status.success() || repo.join("out/report.html").exists());
    // The directory must exist; hourglass does not make it.
    std::fs::create_dir_all(repo.join("out")).unwrap();
    let output = repo.run(&["report", "--format", "html", "-o", "out/report.html"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).is_empty());
    let page = std::fs::read_to_string(repo.join("out/report.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    for chart in ["volume", "scenarios", "heatmap", "lead-time"] {
        let start = page.find(&format!(r#"data-chart="{chart}""#)).unwrap();
        let end = start + page[start..].find("</svg>").unwrap();
        assert!(
            page[start..end].contains(r#"class="mark""#),
            "{chart} is empty"
        );
    }
    assert!(!page.contains("<script"));
    let leftovers: Vec<_> = std::fs::read_dir(repo.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn a_shards_scenario_that_saturates_says_why_next_to_it() {
    let repo = shop();
    repo.write("hourglass.toml", "[capacity]\nrunner-slots = 1\n");
    let output = repo.run(&["report"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let row = text
        .lines()
        .find(|l| l.starts_with("| x1.5 + shards |"))
        .unwrap_or_else(|| panic!("no x1.5 + shards row in {text}"));
    assert!(
        row.contains("saturates: 1 runner slot cannot hold one run of 2 shards"),
        "{row}"
    );
    let output = repo.run(&["report", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let shards = json["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "x1.5 + shards")
        .unwrap();
    assert!(
        shards["why"]
            .as_str()
            .unwrap()
            .contains("more shards per run need more slots")
    );
    let output = repo.run(&["report", "--format", "html"]);
    assert!(stdout(&output).contains(r#"<small class="why">1 runner slot cannot hold"#));
}
