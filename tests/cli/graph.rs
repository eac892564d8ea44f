//! `hourglass graph` from the command line.

use crate::support::{TempRepo, stderr, stdout};

fn small_workspace() -> TempRepo {
    let repo = TempRepo::new();
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    repo.write(
        "src/lib.rs",
        "mod util;\n\npub fn answer() -> u32 {\n    util::double(21)\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn answers() {\n        assert_eq!(super::answer(), 42);\n    }\n}\n",
    );
    repo.write(
        "src/util.rs",
        "pub fn double(x: u32) -> u32 {\n    x * 2\n}\n",
    );
    repo.commit_all("tiny workspace");
    repo
}

fn stat(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|line| line.strip_prefix(key))
        .map_or_else(
            || panic!("no `{key}` in {text}"),
            |rest| rest.trim().to_owned(),
        )
}

#[test]
fn stats_count_the_workspace_and_a_second_run_hits_the_cache() {
    let repo = small_workspace();
    let first = repo.run(&["graph", "--format", "stats"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let text = stdout(&first);
    assert_eq!(stat(&text, "packages"), "1");
    assert_eq!(stat(&text, "files"), "2");
    assert_eq!(stat(&text, "tests"), "1");
    assert_eq!(stat(&text, "parse errors"), "0");
    assert_eq!(stat(&text, "cache hits"), "0");
    let second = stdout(&repo.run(&["graph"]));
    assert_eq!(stat(&second, "cache hits"), "2");
    assert!(repo.join(".hourglass/cache/graph").is_dir());
}

#[test]
fn json_is_one_document_with_the_tests_and_dot_is_graphviz() {
    let repo = small_workspace();
    let output = repo.run(&["graph", "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&output)).expect("one JSON document");
    let tests = json["tests"].as_array().expect("tests");
    assert_eq!(tests.len(), 1);
    assert_eq!(tests[0]["binary_id"], "tiny");
    assert_eq!(tests[0]["name"], "tests::answers");
    let dot = stdout(&repo.run(&["graph", "--format", "dot"]));
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("util::double"), "{dot}");
}

#[test]
fn a_directory_without_a_manifest_is_bad_input() {
    let repo = TempRepo::new();
    let output = repo.run(&["graph"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Cargo.toml"),
        "{}",
        stderr(&output)
    );
}
