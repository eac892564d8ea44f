//! `hourglass plan` from the command line: a real git repository with dated
//! commits and a merge, and a history made by the real `hourglass ingest`.

use std::process::Command;

use serde_json::Value;

use crate::support::{TempRepo, stderr, stdout};

fn git_at(repo: &TempRepo, date: &str, args: &[&str]) {
    let output = Command::new("git")
        .args(args)
        .current_dir(repo.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn commit_at(repo: &TempRepo, date: &str, message: &str) {
    repo.git(&["add", "--all"]);
    git_at(
        repo,
        date,
        &["commit", "--quiet", "--allow-empty", "-m", message],
    );
}

const ALPHA_LIB: &str = "\
pub fn add(a: i32, b: i32) -> i32 {
    a + b
}

#[cfg(test)]
mod tests {
    #[test]
    fn adds() {
        assert_eq!(super::add(1, 2), 3);
    }
}
";

fn beta_lib(greeting: &str) -> String {
    format!(
        "\
pub fn greeting() -> &'static str {{
    \"{greeting}\"
}}

#[cfg(test)]
mod tests {{
    #[test]
    fn greets() {{
        assert!(!super::greeting().is_empty());
    }}
}}
"
    )
}

/// A nextest JUnit file of one run: alpha's test takes 9 s, beta's 1 s.
fn junit(beta_fails: bool) -> String {
    let failure = if beta_fails {
        "<failure message=\"boom\">boom</failure>"
    } else {
        ""
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n\
  <testsuite name=\"alpha\"><testcase classname=\"alpha\" name=\"tests::adds\" time=\"9.0\"/></testsuite>\n\
  <testsuite name=\"beta\"><testcase classname=\"beta\" name=\"tests::greets\" time=\"1.0\">{failure}</testcase></testsuite>\n\
</testsuites>\n"
    )
}

/// Two weeks of history on a two-crate workspace:
///
/// - 2026-02-23 (Mon, W09) 10:00 UTC: the workspace.
/// - 2026-02-24 (W09) 11:00 UTC: a direct change to beta.
/// - a branch with two commits, merged on Sunday 2026-03-01 23:30 at
///   -02:00, which is Monday 01:30 UTC: week W10, not W09.
/// - 2026-03-03 (W10): beta's greeting changes again.
///
/// One CI run per change, ingested with its commit and time.
fn repo_with_history() -> TempRepo {
    let repo = TempRepo::new();
    repo.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/alpha\", \"crates/beta\"]\nresolver = \"2\"\n",
    );
    for name in ["alpha", "beta"] {
        repo.write(
            &format!("crates/{name}/Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
        );
    }
    repo.write("crates/alpha/src/lib.rs", ALPHA_LIB);
    repo.write("crates/beta/src/lib.rs", beta_lib("hello"));
    repo.write(".gitignore", "/.hourglass/\n/ci/\n");
    commit_at(&repo, "2026-02-23T10:00:00Z", "workspace");
    repo.write("crates/beta/src/lib.rs", beta_lib("hi"));
    commit_at(&repo, "2026-02-24T11:00:00Z", "beta: hi");
    repo.git(&["checkout", "--quiet", "-b", "feature"]);
    repo.write("crates/beta/src/lib.rs", beta_lib("hey"));
    commit_at(&repo, "2026-02-26T09:00:00Z", "beta: hey");
    repo.write("crates/beta/src/lib.rs", beta_lib("hey there"));
    commit_at(&repo, "2026-02-27T09:00:00Z", "beta: hey there");
    repo.git(&["checkout", "--quiet", "main"]);
    git_at(
        &repo,
        "2026-03-01T23:30:00-02:00",
        &[
            "merge",
            "--quiet",
            "--no-ff",
            "-m",
            "Merge feature",
            "feature",
        ],
    );
    repo.write("crates/beta/src/lib.rs", beta_lib("howdy"));
    commit_at(&repo, "2026-03-03T10:00:00Z", "beta: howdy");

    for (i, ts) in [
        "2026-02-23T10:10:00Z",
        "2026-02-24T11:10:00Z",
        "2026-03-02T01:40:00Z",
        "2026-03-03T10:10:00Z",
    ]
    .iter()
    .enumerate()
    {
        let file = format!("ci/run-{i}.xml");
        repo.write(&file, junit(i == 2));
        let run_id = format!("run-{i}");
        let output = repo.run(&[
            "ingest",
            "--run-id",
            &run_id,
            "--commit",
            "c0ffee",
            "--timestamp",
            ts,
            &file,
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    repo
}

fn week<'a>(weeks: &'a Value, name: &str) -> &'a Value {
    weeks
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["week"] == name)
        .unwrap_or_else(|| panic!("no week {name} in {weeks}"))
}

#[test]
fn plan_json_counts_merged_changes_per_utc_week_and_runs_per_week() {
    let repo = repo_with_history();
    let output = repo.run(&["plan", "--weeks", "0", "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let plan: Value = serde_json::from_str(&stdout(&output)).unwrap();

    let demand = &plan["demand"]["weeks"];
    let w09 = week(demand, "2026-W09");
    let w10 = week(demand, "2026-W10");
    // W09: the workspace and the direct change. The merge on Sunday 23:30
    // at -02:00 is Monday in UTC: W10, with the change after it.
    assert_eq!(
        (w09["changes"].as_u64(), w09["commits"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(
        (w10["changes"].as_u64(), w10["commits"].as_u64()),
        (Some(2), Some(3))
    );
    assert!(w10["lines"].as_u64().unwrap() > 0);
    assert_eq!(plan["demand"]["weeks"].as_array().unwrap().len(), 2);

    let supply = &plan["supply"]["weeks"];
    assert_eq!(week(supply, "2026-W09")["runs"], 2);
    assert_eq!(week(supply, "2026-W10")["runs"], 2);
    assert_eq!(week(supply, "2026-W10")["test_time_s"].as_f64(), Some(20.0));

    let model = &plan["model"];
    for key in [
        "arrival_rate_per_hour",
        "service_time_s",
        "ca2",
        "cs2",
        "servers",
        "utilisation",
        "wait_s",
        "max_arrival_rate_per_hour",
        "headroom",
    ] {
        assert!(model.get(key).is_some(), "model.{key} missing");
    }
    // 10 s of tests per run + 120 s set-up (the default), one shard.
    assert_eq!(model["service_time_s"].as_f64(), Some(130.0));
    assert_eq!(model["servers"], 8);

    let scenarios = plan["scenarios"].as_array().unwrap();
    assert_eq!(scenarios[0]["name"], "baseline");
    for factor in [1.25, 1.5, 2.0] {
        assert!(
            scenarios
                .iter()
                .any(|s| s["volume_factor"].as_f64() == Some(factor)
                    && s["levers"] == serde_json::json!([])),
            "no x{factor} scenario"
        );
    }
    for s in scenarios {
        assert!(
            ["absorbs", "at_risk", "saturates"].contains(&s["verdict"].as_str().unwrap()),
            "{s}"
        );
    }
    // The run that failed is triage work.
    assert!(plan["triage"]["items_per_week"].as_f64().unwrap() > 0.0);
}

#[test]
fn plan_replay_measures_what_selection_would_have_run() {
    let repo = repo_with_history();
    let output = repo.run(&["plan", "--weeks", "0", "--replay", "2", "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let plan: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let replay = &plan["replay"];
    let changes = replay["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{replay}");
    // The newest change touches beta only: beta's test (1 s of 10 s).
    let newest = &changes[0];
    assert_eq!(newest["run_all"], false, "{newest}");
    assert_eq!(newest["selected_tests"], 1);
    assert_eq!(newest["total_tests"], 2);
    assert_eq!(newest["selected_time_s"].as_f64(), Some(1.0));
    assert!(replay["test_time_share"].as_f64().unwrap() < 0.5);
    let lever = plan["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "x2 + selection")
        .expect("a selection scenario");
    assert_eq!(lever["levers"][0]["lever"], "selection");
}

#[test]
fn plan_table_shows_the_model_and_the_scenarios() {
    let repo = repo_with_history();
    let output = repo.run(&["plan", "--weeks", "0", "--runner-slots", "2"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("2 servers (2 slots / 1 shards)"), "{text}");
    assert!(text.contains("baseline"), "{text}");
    assert!(text.contains("x2 + runners"), "{text}");
    assert!(text.contains("2026-W10"), "{text}");
    // The second run reads the changes from the cache.
    let again = repo.run(&["plan", "--weeks", "0"]);
    assert!(
        stderr(&again).contains("(4 cached, 0 read)"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn plan_on_an_empty_repository_says_what_to_ingest() {
    let repo = TempRepo::new();
    let output = repo.run(&["plan"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("no history to plan from yet"), "{text}");
    assert!(text.contains("hourglass ingest"), "{text}");
    let json = repo.run(&["plan", "--format", "json"]);
    assert!(json.status.success());
    let plan: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(plan["demand"]["weeks"], serde_json::json!([]));
    assert!(plan["model"]["headroom"].is_null());
}

#[test]
fn plan_rejects_a_target_utilisation_over_one() {
    let repo = TempRepo::new();
    let output = repo.run(&["plan", "--target-utilisation", "1.5"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--target-utilisation"));
}

#[test]
fn plan_reports_a_bad_capacity_key_with_its_line() {
    let repo = TempRepo::new();
    repo.write(
        "hourglass.toml",
        "[capacity]\nrunner-slots = 4\nrunners = 3\n",
    );
    let output = repo.run(&["plan"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("hourglass.toml:3:"), "{err}");
}

/// One shard of a nextest-style run: a suite that started at `start` and
/// took `time` seconds, with two tests of `test_s` seconds each that ran
/// side by side.
fn shard(name: &str, start: &str, time: f64, test_s: f64) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"nextest-run\" tests=\"2\">\n\
  <testsuite name=\"{name}\" tests=\"2\" timestamp=\"{start}\" time=\"{time}\">\n\
    <testcase classname=\"{name}\" name=\"tests::one\" time=\"{test_s}\"/>\n\
    <testcase classname=\"{name}\" name=\"tests::two\" time=\"{test_s}\"/>\n\
  </testsuite>\n</testsuites>\n"
    )
}

#[test]
fn plan_shows_the_wall_time_the_junit_timestamps_say_and_models_with_it() {
    let repo = TempRepo::new();
    repo.write("README", "shop\n");
    repo.write(".gitignore", "/.hourglass/\n/ci/\n");
    commit_at(&repo, "2026-03-02T09:00:00Z", "start");
    repo.write("README", "shop, again\n");
    commit_at(&repo, "2026-03-03T09:00:00Z", "again");
    // Two runs of two shards side by side: 10:00:00 + 40 s and 10:00:05 +
    // 50 s, a wall time of 55 s; 4 tests of 30 s each = 120 s of test time.
    for (i, day) in ["2026-03-02", "2026-03-03"].iter().enumerate() {
        let a = format!("ci/run-{i}/a.xml");
        let b = format!("ci/run-{i}/b.xml");
        repo.write(&a, shard("alpha", &format!("{day}T10:00:00Z"), 40.0, 30.0));
        repo.write(&b, shard("beta", &format!("{day}T10:00:05Z"), 50.0, 30.0));
        let output = repo.run(&[
            "ingest",
            "--run-id",
            &format!("run-{i}"),
            "--commit",
            "c0ffee",
            &a,
            &b,
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let output = repo.run(&[
        "plan",
        "--weeks",
        "0",
        "--runner-slots",
        "1",
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let plan: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let w10 = week(&plan["supply"]["weeks"], "2026-W10");
    assert_eq!(w10["runs"], 2);
    assert_eq!(w10["test_time_s"].as_f64(), Some(240.0));
    assert_eq!(w10["wall_time_per_run_s"].as_f64(), Some(55.0));
    assert_eq!(w10["wall_time_runs"], 2);
    assert_eq!(
        plan["supply"]["wall_time_per_run"]["mean"].as_f64(),
        Some(55.0)
    );
    // The model's service time is the wall time (55 s) + 120 s set-up,
    // not the 120 s of test time.
    assert_eq!(plan["model"]["service_basis"], "wall_time");
    assert_eq!(plan["model"]["service_time_s"].as_f64(), Some(175.0));
    // One runner slot cannot hold a run of two shards: the shards scenario
    // says why it saturates.
    let shards = plan["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "x1.5 + shards")
        .expect("an x1.5 + shards scenario");
    assert_eq!(shards["verdict"], "saturates");
    let why = shards["why"].as_str().unwrap();
    assert!(why.contains("cannot hold one run of 2 shards"), "{why}");
    let plain = plan["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "x1.5")
        .unwrap();
    assert!(plain["why"].is_null(), "{plain}");

    // CI job records of the same week: the measured wait beside the model's.
    let jobs = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/ci-jobs/github-run-jobs.json")
        .display()
        .to_string();
    assert!(repo.run(&["ingest", "--ci-jobs", &jobs]).status.success());
    let output = repo.run(&["plan", "--weeks", "0", "--runner-slots", "1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let table = stdout(&output);
    assert!(
        table.contains("measured in 2026-W10 (3 CI jobs): queue wait p50 36 s"),
        "{table}"
    );
    assert!(
        table.contains("wall time per run 55 s (cv 0.00) over the 2 runs that say it"),
        "{table}"
    );
    assert!(table.contains("(measured wall time)"), "{table}");
    assert!(table.contains("why: 1 runner slot cannot hold"), "{table}");
}
