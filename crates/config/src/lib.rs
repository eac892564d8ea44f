//! `hourglass.toml` into [`Settings`], with embedded defaults.
//!
//! # How it works
//!
//! A repository may keep an `hourglass.toml` at its root. It is read into
//! [`Options`], where every key is optional and unknown keys are errors that
//! name the key and its line. [`Options`] is laid over the embedded defaults
//! (`default.toml`, shipped inside the binary) to give [`Settings`], where
//! every value is known. Command-line flags are applied by the binary on top.
//!
//! # Limitations
//!
//! Select rules from `hourglass.toml` come before the built-in rules of the
//! select engine; there is no way to remove a built-in rule other than
//! shadowing it with a rule for the same paths.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The embedded defaults, as TOML text.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

/// The name of the configuration file at the repository root.
pub const FILE_NAME: &str = "hourglass.toml";

/// Why a configuration could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// What `hourglass.toml` may say. Every key is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    pub select: Option<SelectOptions>,
    pub history: Option<HistoryOptions>,
    pub flaky: Option<FlakyOptions>,
    pub slow: Option<SlowOptions>,
    /// Pattern (CODEOWNERS syntax) → owners; laid over CODEOWNERS.
    pub owners: Option<BTreeMap<String, OwnerList>>,
    pub capacity: Option<CapacityOptions>,
}

/// `[capacity]`: CI and triage capacity for `hourglass plan`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CapacityOptions {
    pub runner_slots: Option<u32>,
    pub working_hours_per_week: Option<f64>,
    pub shards_per_run: Option<u32>,
    pub setup_seconds_per_shard: Option<f64>,
    pub target_utilisation: Option<f64>,
    pub target_queue_wait_seconds: Option<f64>,
    pub triage_hours_per_week: Option<f64>,
    pub triage_minutes_per_item: Option<f64>,
    pub busy_hours: Option<u32>,
    pub volume_factors: Option<Vec<f64>>,
    pub release_tag_pattern: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SelectOptions {
    pub rules: Option<Vec<RuleSettings>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HistoryOptions {
    pub max_output_bytes: Option<usize>,
    pub keep_output: Option<KeepOutput>,
    pub retention_days: Option<u32>,
}

/// Whose output the history keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeepOutput {
    /// Every result that did not pass (failed, errored, flaky, skipped).
    Failures,
    /// Every result.
    All,
    /// None.
    None,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FlakyOptions {
    pub window_days: Option<u32>,
    pub min_runs: Option<u32>,
    pub fixed_after: Option<u32>,
    pub infra_failure_share: Option<f64>,
    pub infra_failure_min_tests: Option<u32>,
    pub flaky_score: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SlowOptions {
    pub top: Option<usize>,
    pub regression_factor: Option<f64>,
    pub min_segment: Option<usize>,
}

/// One owner or several.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum OwnerList {
    One(String),
    Many(Vec<String>),
}

impl OwnerList {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OwnerList::One(owner) => vec![owner],
            OwnerList::Many(owners) => owners,
        }
    }
}

/// What to do when a changed file matches a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleAction {
    /// The file affects no test.
    Ignore,
    /// The file may affect every test.
    RunAll,
    /// The file affects the tests of `packages` (and of their dependents).
    Packages,
    /// The file affects the tests named in `tests`.
    Tests,
}

/// A rule for files the graph cannot see into.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RuleSettings {
    /// Glob patterns relative to the repository root.
    pub paths: Vec<String>,
    pub action: RuleAction,
    #[serde(default)]
    pub packages: Vec<String>,
    /// Printed test ids (`<binary id> <test name>`) or globs over them.
    #[serde(default)]
    pub tests: Vec<String>,
    pub reason: Option<String>,
}

/// Every setting, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Repository rules first, then the default rules.
    pub select_rules: Vec<RuleSettings>,
    pub max_output_bytes: usize,
    pub keep_output: KeepOutput,
    /// Runs older than this many days are dropped by `hourglass prune`
    /// without `--before`; `None` (the default) keeps everything.
    pub retention_days: Option<u32>,
    pub flaky: FlakySettings,
    pub slow: SlowSettings,
    /// Pattern → owners, in file order.
    pub owners: Vec<(String, Vec<String>)>,
    pub capacity: CapacitySettings,
}

/// `[capacity]`, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacitySettings {
    /// Concurrent CI jobs.
    pub runner_slots: u32,
    /// Hours a week the team merges in.
    pub working_hours_per_week: f64,
    /// Shards a run is split into.
    pub shards_per_run: u32,
    /// Set-up time of each shard (checkout, build, caches), seconds.
    pub setup_seconds_per_shard: f64,
    /// Utilisation above which a scenario is at risk.
    pub target_utilisation: f64,
    /// Mean queue wait above which a scenario is at risk, seconds.
    pub target_queue_wait_seconds: f64,
    pub triage_hours_per_week: f64,
    pub triage_minutes_per_item: f64,
    /// The arrival rate is the mean over this many busiest hours of the week.
    pub busy_hours: u32,
    /// Change volume factors of the scenarios.
    pub volume_factors: Vec<f64>,
    /// Release tags (glob: `*`, `?`).
    pub release_tag_pattern: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FlakySettings {
    pub window_days: u32,
    pub min_runs: u32,
    pub fixed_after: u32,
    pub infra_failure_share: f64,
    pub infra_failure_min_tests: u32,
    pub flaky_score: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SlowSettings {
    pub top: usize,
    pub regression_factor: f64,
    pub min_segment: usize,
}

impl Options {
    /// Parses TOML text; `path` names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Options, ConfigError> {
        toml::from_str(text).map_err(|error| {
            let (line, column) = error
                .span()
                .map_or((1, 1), |span| line_column(text, span.start));
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message: error.message().to_owned(),
            }
        })
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

fn defaults() -> Options {
    Options::parse(DEFAULT_TOML, Path::new("<embedded default.toml>"))
        .expect("the embedded defaults parse")
}

impl Settings {
    /// The embedded defaults alone.
    pub fn defaults() -> Settings {
        Settings::resolve(Options::default())
    }

    /// Reads `hourglass.toml` from `root` when it exists, over the defaults.
    pub fn load(root: &Path) -> Result<Settings, ConfigError> {
        let path = root.join(FILE_NAME);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Settings::resolve(Options::parse(&text, &path)?)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Settings::defaults()),
            Err(source) => Err(ConfigError::Io { path, source }),
        }
    }

    /// Lays `options` over the embedded defaults.
    pub fn resolve(options: Options) -> Settings {
        let base = defaults();
        let base_select = base.select.unwrap_or_default();
        let base_history = base.history.unwrap_or_default();
        let base_flaky = base.flaky.unwrap_or_default();
        let base_slow = base.slow.unwrap_or_default();

        let user_select = options.select.unwrap_or_default();
        let history = options.history.unwrap_or_default();
        let flaky = options.flaky.unwrap_or_default();
        let slow = options.slow.unwrap_or_default();
        let base_capacity = base.capacity.unwrap_or_default();
        let capacity = options.capacity.unwrap_or_default();

        let mut select_rules = user_select.rules.unwrap_or_default();
        select_rules.extend(base_select.rules.unwrap_or_default());

        let owners = base
            .owners
            .unwrap_or_default()
            .into_iter()
            .chain(options.owners.unwrap_or_default())
            .map(|(pattern, owners)| (pattern, owners.into_vec()))
            .collect();

        // The defaults file sets every key; `expect` documents that.
        let pick = |user: Option<f64>, base: Option<f64>| user.or(base).expect("default set");
        Settings {
            select_rules,
            max_output_bytes: history
                .max_output_bytes
                .or(base_history.max_output_bytes)
                .expect("default set"),
            keep_output: history
                .keep_output
                .or(base_history.keep_output)
                .expect("default set"),
            retention_days: history.retention_days.or(base_history.retention_days),
            flaky: FlakySettings {
                window_days: flaky
                    .window_days
                    .or(base_flaky.window_days)
                    .expect("default set"),
                min_runs: flaky.min_runs.or(base_flaky.min_runs).expect("default set"),
                fixed_after: flaky
                    .fixed_after
                    .or(base_flaky.fixed_after)
                    .expect("default set"),
                infra_failure_share: pick(
                    flaky.infra_failure_share,
                    base_flaky.infra_failure_share,
                ),
                infra_failure_min_tests: flaky
                    .infra_failure_min_tests
                    .or(base_flaky.infra_failure_min_tests)
                    .expect("default set"),
                flaky_score: pick(flaky.flaky_score, base_flaky.flaky_score),
            },
            slow: SlowSettings {
                top: slow.top.or(base_slow.top).expect("default set"),
                regression_factor: pick(slow.regression_factor, base_slow.regression_factor),
                min_segment: slow
                    .min_segment
                    .or(base_slow.min_segment)
                    .expect("default set"),
            },
            owners,
            capacity: CapacitySettings {
                runner_slots: capacity
                    .runner_slots
                    .or(base_capacity.runner_slots)
                    .expect("default set"),
                working_hours_per_week: pick(
                    capacity.working_hours_per_week,
                    base_capacity.working_hours_per_week,
                ),
                shards_per_run: capacity
                    .shards_per_run
                    .or(base_capacity.shards_per_run)
                    .expect("default set"),
                setup_seconds_per_shard: pick(
                    capacity.setup_seconds_per_shard,
                    base_capacity.setup_seconds_per_shard,
                ),
                target_utilisation: pick(
                    capacity.target_utilisation,
                    base_capacity.target_utilisation,
                ),
                target_queue_wait_seconds: pick(
                    capacity.target_queue_wait_seconds,
                    base_capacity.target_queue_wait_seconds,
                ),
                triage_hours_per_week: pick(
                    capacity.triage_hours_per_week,
                    base_capacity.triage_hours_per_week,
                ),
                triage_minutes_per_item: pick(
                    capacity.triage_minutes_per_item,
                    base_capacity.triage_minutes_per_item,
                ),
                busy_hours: capacity
                    .busy_hours
                    .or(base_capacity.busy_hours)
                    .expect("default set"),
                volume_factors: capacity
                    .volume_factors
                    .or(base_capacity.volume_factors)
                    .expect("default set"),
                release_tag_pattern: capacity
                    .release_tag_pattern
                    .or(base_capacity.release_tag_pattern)
                    .expect("default set"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_defaults_parse_and_set_every_key() {
        let options = defaults();
        let flaky = options.flaky.expect("[flaky]");
        assert!(flaky.window_days.is_some() && flaky.min_runs.is_some());
        assert!(flaky.fixed_after.is_some() && flaky.flaky_score.is_some());
        assert!(flaky.infra_failure_share.is_some() && flaky.infra_failure_min_tests.is_some());
        let slow = options.slow.expect("[slow]");
        assert!(
            slow.top.is_some() && slow.regression_factor.is_some() && slow.min_segment.is_some()
        );
        assert!(
            options
                .history
                .expect("[history]")
                .max_output_bytes
                .is_some()
        );
        assert!(options.select.expect("[select]").rules.is_some());
        let capacity = options.capacity.expect("[capacity]");
        assert!(capacity.runner_slots.is_some() && capacity.working_hours_per_week.is_some());
        assert!(capacity.shards_per_run.is_some() && capacity.setup_seconds_per_shard.is_some());
        assert!(
            capacity.target_utilisation.is_some() && capacity.target_queue_wait_seconds.is_some()
        );
        assert!(
            capacity.triage_hours_per_week.is_some() && capacity.triage_minutes_per_item.is_some()
        );
        assert!(capacity.busy_hours.is_some() && capacity.volume_factors.is_some());
        assert!(capacity.release_tag_pattern.is_some());
    }

    #[test]
    fn capacity_keys_override_the_defaults() {
        let text = "[capacity]\nrunner-slots = 32\nvolume-factors = [3.0]\n";
        let settings =
            Settings::resolve(Options::parse(text, Path::new("hourglass.toml")).unwrap());
        assert_eq!(settings.capacity.runner_slots, 32);
        assert_eq!(settings.capacity.volume_factors, [3.0]);
        assert_eq!(
            settings.capacity.shards_per_run,
            Settings::defaults().capacity.shards_per_run
        );
        let error = Options::parse("[capacity]\nrunner-slot = 3\n", Path::new("hourglass.toml"))
            .unwrap_err();
        assert!(error.to_string().contains("runner-slot"), "{error}");
    }

    #[test]
    fn user_values_win_and_unset_keys_keep_the_default() {
        let text = "[flaky]\nmin-runs = 4\n";
        let settings =
            Settings::resolve(Options::parse(text, Path::new("hourglass.toml")).unwrap());
        let defaults = Settings::defaults();
        assert_eq!(settings.flaky.min_runs, 4);
        assert_eq!(settings.flaky.window_days, defaults.flaky.window_days);
    }

    #[test]
    fn history_keep_output_and_retention() {
        let defaults = Settings::defaults();
        assert_eq!(defaults.keep_output, KeepOutput::Failures);
        assert_eq!(defaults.retention_days, None);
        let text = "[history]\nkeep-output = \"all\"\nretention-days = 365\n";
        let settings =
            Settings::resolve(Options::parse(text, Path::new("hourglass.toml")).unwrap());
        assert_eq!(settings.keep_output, KeepOutput::All);
        assert_eq!(settings.retention_days, Some(365));
        let error = Options::parse(
            "[history]\nkeep-output = \"some\"\n",
            Path::new("hourglass.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("hourglass.toml:2:"), "{error}");
    }

    #[test]
    fn user_rules_come_before_the_default_rules() {
        let text = r#"
[[select.rules]]
paths = ["docs/**"]
action = "run-all"
reason = "the docs are tested"
"#;
        let settings =
            Settings::resolve(Options::parse(text, Path::new("hourglass.toml")).unwrap());
        assert_eq!(settings.select_rules[0].action, RuleAction::RunAll);
        assert_eq!(settings.select_rules[0].paths, ["docs/**"]);
        assert_eq!(settings.select_rules.len(), 1);
    }

    #[test]
    fn an_unknown_key_names_the_key_and_its_line() {
        let text = "[flaky]\nmin-runs = 4\nmin-rnus = 5\n";
        let error = Options::parse(text, Path::new("hourglass.toml")).unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("hourglass.toml:3:"), "{message}");
        assert!(message.contains("min-rnus"), "{message}");
    }

    #[test]
    fn owners_accept_one_or_many() {
        let text = "[owners]\n\"src/a/**\" = \"@a\"\n\"src/b/**\" = [\"@b\", \"@c\"]\n";
        let settings =
            Settings::resolve(Options::parse(text, Path::new("hourglass.toml")).unwrap());
        assert!(
            settings
                .owners
                .contains(&("src/a/**".into(), vec!["@a".into()]))
        );
        assert!(
            settings
                .owners
                .contains(&("src/b/**".into(), vec!["@b".into(), "@c".into()]))
        );
    }

    #[test]
    fn load_without_a_file_gives_the_defaults_and_reads_one_when_present() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Settings::load(dir.path()).unwrap(), Settings::defaults());
        std::fs::write(dir.path().join(FILE_NAME), "[slow]\ntop = 3\n").unwrap();
        assert_eq!(Settings::load(dir.path()).unwrap().slow.top, 3);
    }
}
