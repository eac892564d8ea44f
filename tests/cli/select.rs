//! `hourglass select` and `hourglass why` from the command line, in a real
//! git repository holding a two-crate workspace.

use crate::support::{TempRepo, stderr, stdout};

const ALPHA_LIB: &str = "\
pub fn add(a: i32, b: i32) -> i32 {
    a + b
}

pub fn double(a: i32) -> i32 {
    add(a, a)
}

pub fn negate(a: i32) -> i32 {
    -a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds() {
        assert_eq!(add(1, 2), 3);
    }

    #[test]
    fn negates() {
        assert_eq!(negate(1), -1);
    }
}
";

const BETA_LIB: &str = "\
pub fn quadruple(a: i32) -> i32 {
    alpha::double(alpha::double(a))
}

pub fn greeting() -> &'static str {
    \"hello\"
}

#[cfg(test)]
mod tests {
    #[test]
    fn quadruples() {
        assert_eq!(super::quadruple(1), 4);
    }

    #[test]
    fn greets() {
        assert_eq!(super::greeting(), \"hello\");
    }
}
";

const BETA_API_TEST: &str = "\
#[test]
fn quadruple_of_two() {
    assert_eq!(beta::quadruple(2), 8);
}
";

/// A committed workspace: `alpha` (add, double, negate) and `beta`
/// (quadruple uses alpha::double; greeting uses nothing of alpha).
fn workspace() -> TempRepo {
    let repo = TempRepo::new();
    repo.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/alpha\", \"crates/beta\"]\nresolver = \"2\"\n",
    );
    repo.write(
        "crates/alpha/Cargo.toml",
        "[package]\nname = \"alpha\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    repo.write("crates/alpha/src/lib.rs", ALPHA_LIB);
    repo.write(
        "crates/beta/Cargo.toml",
        "[package]\nname = \"beta\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nalpha = { path = \"../alpha\" }\n",
    );
    repo.write("crates/beta/src/lib.rs", BETA_LIB);
    repo.write("crates/beta/tests/api.rs", BETA_API_TEST);
    repo.write("README.md", "# a workspace\n");
    repo.write(".gitignore", "target/\n");
    repo.commit_all("base");
    repo
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

fn select_json(repo: &TempRepo, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["select", "--format", "json"];
    args.extend_from_slice(extra);
    let output = repo.run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_str(&stdout(&output)).expect("select --format json prints JSON")
}

#[test]
fn a_changed_function_selects_the_tests_that_use_it_and_not_the_others() {
    let repo = workspace();
    repo.write(
        "crates/alpha/src/lib.rs",
        ALPHA_LIB.replace("    a + b\n", "    b + a\n"),
    );
    let output = repo.run(&["select"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let selected = stdout(&output);
    let selected = lines(&selected);
    for expected in [
        "alpha tests::adds",
        "beta tests::quadruples",
        "beta::api quadruple_of_two",
    ] {
        assert!(
            selected.contains(&expected),
            "{expected} missing from {selected:?}"
        );
    }
    assert!(!selected.contains(&"beta tests::greets"), "{selected:?}");
    assert!(!selected.contains(&"alpha tests::negates"), "{selected:?}");
    assert!(
        stderr(&output).contains("selected 3 of 5 tests"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn verbose_and_json_give_the_reasons() {
    let repo = workspace();
    repo.write(
        "crates/alpha/src/lib.rs",
        ALPHA_LIB.replace("    a + b\n", "    b + a\n"),
    );
    let output = repo.run(&["select", "--verbose"]);
    assert!(
        stdout(&output).contains("uses `add` (changed at crates/alpha/src/lib.rs:2)"),
        "{}",
        stdout(&output)
    );
    let json = select_json(&repo, &[]);
    assert_eq!(json["run_all"], false);
    assert_eq!(json["total_tests"], 5);
    let selected = json["selected"].as_array().expect("selected is a list");
    assert_eq!(selected.len(), 3);
    for test in selected {
        assert!(test["binary_id"].is_string() && test["name"].is_string());
        assert!(!test["reasons"].as_array().expect("reasons").is_empty());
    }
}

#[test]
fn a_readme_change_selects_nothing() {
    let repo = workspace();
    repo.write("README.md", "# a workspace\n\nwith more words\n");
    let output = repo.run(&["select"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert!(stderr(&output).contains("selected 0 of 5 tests"));
    let json = select_json(&repo, &[]);
    assert_eq!(json["selected"].as_array().map(Vec::len), Some(0));
    assert_eq!(json["run_all"], false);
}

#[test]
fn a_profile_change_runs_everything() {
    let repo = workspace();
    let manifest = std::fs::read_to_string(repo.join("Cargo.toml")).unwrap();
    repo.write(
        "Cargo.toml",
        format!("{manifest}\n[profile.dev]\nopt-level = 1\n"),
    );
    let json = select_json(&repo, &[]);
    assert_eq!(json["run_all"], true);
    let reasons = json["run_all_reasons"].as_array().expect("reasons");
    assert!(
        reasons
            .iter()
            .any(|r| r.as_str().unwrap_or("").contains("profile")),
        "{reasons:?}"
    );
    assert_eq!(json["selected"].as_array().map(Vec::len), Some(5));
    let nextest = repo.run(&["select", "--format", "nextest"]);
    assert_eq!(stdout(&nextest).trim(), "all()");
}

#[test]
fn a_package_manifest_change_selects_the_package_and_its_dependents() {
    let repo = workspace();
    let manifest = std::fs::read_to_string(repo.join("crates/beta/Cargo.toml")).unwrap();
    repo.write(
        "crates/beta/Cargo.toml",
        manifest.replace("[dependencies]", "[features]\nextra = []\n\n[dependencies]"),
    );
    let output = repo.run(&["select"]);
    let selected = stdout(&output);
    let selected = lines(&selected);
    assert!(selected.contains(&"beta tests::greets"), "{selected:?}");
    assert!(!selected.contains(&"alpha tests::adds"), "{selected:?}");
}

#[test]
fn a_committed_head_and_a_patch_give_the_same_selection() {
    let repo = workspace();
    repo.git(&["checkout", "--quiet", "-b", "feature"]);
    repo.write(
        "crates/beta/src/lib.rs",
        BETA_LIB.replacen("    \"hello\"\n", "    \"hello\" // greeting\n", 1),
    );
    repo.commit_all("feature");
    repo.git(&["checkout", "--quiet", "main"]);
    let by_rev = select_json(&repo, &["--base", "main", "--head", "feature"]);
    let names: Vec<&str> = by_rev["selected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tests::greets"]);

    repo.git(&["checkout", "--quiet", "feature"]);
    let patch = repo.git(&["diff", "main", "feature"]);
    std::fs::write(repo.join("change.diff"), patch).unwrap();
    let by_patch = select_json(&repo, &["--diff", "change.diff"]);
    assert_eq!(by_rev["selected"], by_patch["selected"]);
}

/// Selected `(binary id, name)` pairs of a `select --format json` document.
fn selected_ids(document: &serde_json::Value) -> Vec<(String, String)> {
    let mut ids: Vec<(String, String)> = document["selected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["binary_id"].as_str().unwrap().to_owned(),
                t["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_head_revision_is_read_from_git_not_from_the_work_tree() {
    let repo = workspace();
    repo.git(&["checkout", "--quiet", "-b", "feature"]);
    // Only the head revision has this test target and this test.
    repo.write(
        "crates/alpha/tests/sums.rs",
        "#[test]\nfn sums_with_add() {\n    assert_eq!(alpha::add(2, 2), 4);\n}\n",
    );
    repo.write(
        "crates/alpha/src/lib.rs",
        ALPHA_LIB.replace("    a + b\n", "    b + a\n"),
    );
    repo.commit_all("feature");
    repo.git(&["checkout", "--quiet", "main"]);
    // The work tree holds something else again: uncommitted, not part of either side.
    repo.write(
        "crates/alpha/src/lib.rs",
        ALPHA_LIB.replace("pub fn add", "pub fn plus"),
    );

    let by_rev = select_json(&repo, &["--base", "main", "--head", "feature"]);
    // Twice: the second run takes the files' facts from the cache by their blob ids.
    let again = select_json(&repo, &["--base", "main", "--head", "feature"]);
    assert_eq!(selected_ids(&by_rev), selected_ids(&again));

    repo.git(&["checkout", "--quiet", "--", "."]);
    repo.git(&["checkout", "--quiet", "feature"]);
    let at_head = select_json(&repo, &["--base", "main"]);
    assert_eq!(selected_ids(&by_rev), selected_ids(&at_head));
    assert_eq!(by_rev["total_tests"], at_head["total_tests"]);
    let ids = selected_ids(&by_rev);
    assert!(
        ids.contains(&("alpha::sums".to_owned(), "sums_with_add".to_owned())),
        "{ids:?}"
    );
    assert!(
        ids.contains(&("alpha".to_owned(), "tests::adds".to_owned())),
        "{ids:?}"
    );
}

#[test]
fn a_malformed_patch_is_bad_input() {
    let repo = workspace();
    repo.write(
        "bad.diff",
        "diff --git a/x.rs b/x.rs\n--- a/x.rs\n+++ b/x.rs\n@@ not a header @@\n",
    );
    let output = repo.run(&["select", "--diff", "bad.diff"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("line 4"), "{}", stderr(&output));
}

#[test]
fn the_nextest_filterset_groups_tests_by_binary() {
    let repo = workspace();
    repo.write(
        "crates/alpha/src/lib.rs",
        ALPHA_LIB.replace("    a + b\n", "    b + a\n"),
    );
    let output = repo.run(&["select", "--format", "nextest"]);
    // Every test except those the graph knows are unaffected: `alpha` and
    // `beta` link the change, so tests in them the graph cannot see run;
    // every known test of `beta::api` is selected, so it is not named.
    assert_eq!(
        stdout(&output).trim(),
        "not ((binary_id(=alpha) & test(=tests::negates)) | (binary_id(=beta) & test(=tests::greets)))"
    );
    let cargo = repo.run(&["select", "--format", "cargo"]);
    assert!(
        stdout(&cargo).contains(
            "cargo test -p beta --lib -- --exact tests::quadruples\ncargo test -p beta --test api\n"
        ),
        "{}",
        stdout(&cargo)
    );
}

/// Runs `cargo nextest list` with the filterset on the temporary workspace
/// (its own target directory, a few seconds for two tiny crates). Skipped
/// when cargo-nextest is not installed.
#[test]
fn nextest_accepts_the_filterset_and_lists_exactly_the_selection() {
    let has_nextest = std::process::Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_nextest {
        eprintln!("cargo-nextest is not installed; skipping");
        return;
    }
    let repo = workspace();
    repo.write(
        "crates/alpha/src/lib.rs",
        ALPHA_LIB.replace("    a + b\n", "    b + a\n"),
    );
    let filterset = stdout(&repo.run(&["select", "--format", "nextest"]));
    let target = tempfile::tempdir().unwrap();
    let mut list = std::process::Command::new("cargo");
    list.args(["nextest", "list", "--offline", "-E", filterset.trim()])
        .current_dir(repo.path())
        .env("CARGO_TARGET_DIR", target.path());
    // Under nextest, NEXTEST_* (the profile, say) would leak into the inner run.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("NEXTEST") {
            list.env_remove(key);
        }
    }
    let output = list.output().expect("run cargo nextest");
    assert!(output.status.success(), "{}", stderr(&output));
    let listed = stdout(&output);
    let mut listed: Vec<&str> = listed.lines().map(str::trim).collect();
    listed.sort_unstable();
    let selected = stdout(&repo.run(&["select"]));
    let mut selected: Vec<&str> = selected.lines().collect();
    selected.sort_unstable();
    assert_eq!(listed, selected);
}

#[test]
fn why_prints_the_chain_from_the_change_to_the_test() {
    let repo = workspace();
    repo.write(
        "crates/alpha/src/lib.rs",
        ALPHA_LIB.replace("    a + b\n", "    b + a\n"),
    );
    let output = repo.run(&["why", "beta", "tests::quadruples"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("is selected"), "{text}");
    assert!(text.contains("changed: `add`"), "{text}");
    let double = text.find("`double` (crates/alpha/src/lib.rs:5) calls `add`");
    let quadruple = text.find("`quadruple` (crates/beta/src/lib.rs:1) calls `double`");
    assert!(double.is_some() && quadruple.is_some(), "{text}");
    assert!(
        double < quadruple,
        "the chain runs from the change outward: {text}"
    );

    let json = repo.run(&["why", "beta tests::quadruples", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(json["selected"], true);
    assert_eq!(json["verdict"], "reached");
    assert_eq!(json["steps"].as_array().map(Vec::len), Some(3));
}

#[test]
fn why_says_when_a_test_is_not_affected() {
    let repo = workspace();
    repo.write(
        "crates/alpha/src/lib.rs",
        ALPHA_LIB.replace("    a + b\n", "    b + a\n"),
    );
    let output = repo.run(&["why", "beta", "tests::greets"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("is not affected"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn why_of_an_unknown_test_is_bad_input_with_the_closest_names() {
    let repo = workspace();
    let output = repo.run(&["why", "beta::api", "quadruple_of_tw"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("closest: beta::api quadruple_of_two"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_workspace_in_a_subdirectory_is_found_and_other_files_are_left_out() {
    let repo = TempRepo::new();
    repo.write(
        "rust/Cargo.toml",
        "[package]\nname = \"solo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    repo.write("rust/src/lib.rs", ALPHA_LIB);
    repo.write("web/app.js", "console.log(1);\n");
    repo.commit_all("base");
    repo.write(
        "rust/src/lib.rs",
        ALPHA_LIB.replace("    -a\n", "    0 - a\n"),
    );
    repo.write("web/app.js", "console.log(2);\n");
    let output = crate::support::hourglass()
        .args(["select", "--format", "json"])
        .current_dir(repo.join("rust"))
        .output()
        .expect("run hourglass");
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["run_all"], false, "{json}");
    let names: Vec<&str> = json["selected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tests::negates"]);
    assert!(
        json["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("outside the Cargo workspace")),
        "{json}"
    );
}

#[test]
fn rules_in_hourglass_toml_come_before_the_built_in_ones() {
    let repo = workspace();
    repo.write(
        "hourglass.toml",
        "[[select.rules]]\npaths = [\"assets/**\"]\naction = \"packages\"\npackages = [\"alpha\"]\n\
         reason = \"alpha embeds the assets\"\n\n\
         [[select.rules]]\npaths = [\"docs/**\"]\naction = \"run-all\"\nreason = \"the docs are tested\"\n",
    );
    repo.commit_all("rules");

    repo.write("assets/logo.svg", "<svg/>\n");
    let json = select_json(&repo, &[]);
    let selected: Vec<String> = json["selected"]
        .as_array()
        .expect("selected")
        .iter()
        .map(|t| {
            format!(
                "{} {}",
                t["binary_id"].as_str().unwrap(),
                t["name"].as_str().unwrap()
            )
        })
        .collect();
    // alpha's own tests and those of beta, which depends on alpha.
    assert!(
        selected.contains(&"alpha tests::adds".to_owned()),
        "{selected:?}"
    );
    assert!(
        selected.contains(&"beta::api quadruple_of_two".to_owned()),
        "{selected:?}"
    );
    assert_eq!(json["run_all"], false);

    std::fs::remove_file(repo.join("assets/logo.svg")).unwrap();
    // Markdown is ignored by a built-in rule, but the repository's rule for
    // docs/ comes first.
    repo.write("docs/guide.md", "# guide\n");
    let json = select_json(&repo, &[]);
    assert_eq!(json["run_all"], true);
    let reasons = json["run_all_reasons"].to_string();
    assert!(reasons.contains("the docs are tested"), "{reasons}");
}

#[test]
fn an_unknown_key_in_hourglass_toml_is_bad_input_naming_file_and_line() {
    let repo = workspace();
    repo.write("hourglass.toml", "[select]\nrules = []\nrulez = []\n");
    let output = repo.run(&["select"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("hourglass.toml:3:"), "{message}");
    assert!(message.contains("rulez"), "{message}");
}
