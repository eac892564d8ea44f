//! Path rules: what a changed file the graph cannot see into means.

use globset::{Glob, GlobBuilder, GlobMatcher};

/// What a rule does with the files it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuleAction {
    /// The file affects no test.
    Ignore,
    /// The file may affect every test.
    RunAll,
    /// The file affects the tests of these packages and of their dependents.
    Packages(Vec<String>),
    /// The file affects these tests: printed ids (`<binary id> <test name>`)
    /// or globs over them.
    Tests(Vec<String>),
}

/// One rule: a glob over repository-relative paths and its action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRule {
    /// A gitignore-like glob relative to the root: a pattern without `/`
    /// matches the file name at any depth (`*.md`), one with `/` matches from
    /// the root (`docs/**`, a leading `/` is dropped), `*` stops at `/` and
    /// `**` crosses directories; a trailing `/` matches everything below.
    pub pattern: String,
    pub action: RuleAction,
    /// Shown with the selection; defaults to the pattern.
    pub reason: Option<String>,
}

impl PathRule {
    pub fn new(pattern: impl Into<String>, action: RuleAction, reason: Option<&str>) -> Self {
        Self {
            pattern: pattern.into(),
            action,
            reason: reason.map(str::to_owned),
        }
    }
}

/// Rules checked in order; the first that matches a path decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    pub rules: Vec<PathRule>,
}

/// The built-in rules ([`Rules::defaults`]): `(pattern, action, reason)`.
///
/// Documentation and repository housekeeping are ignored; toolchain, cargo
/// and nextest configuration run everything. CI configuration (`.github/`)
/// is deliberately *not* ignored: it can change how tests run, so it falls
/// through to the general rule for unknown files.
const DEFAULT_RULES: &[(&str, DefaultAction, &str)] = &[
    ("*.md", DefaultAction::Ignore, "documentation"),
    ("*.markdown", DefaultAction::Ignore, "documentation"),
    ("*.rst", DefaultAction::Ignore, "documentation"),
    ("*.adoc", DefaultAction::Ignore, "documentation"),
    ("docs/**", DefaultAction::Ignore, "documentation"),
    ("LICENSE*", DefaultAction::Ignore, "legal text"),
    ("COPYING*", DefaultAction::Ignore, "legal text"),
    ("COPYRIGHT*", DefaultAction::Ignore, "legal text"),
    ("NOTICE*", DefaultAction::Ignore, "legal text"),
    ("AUTHORS*", DefaultAction::Ignore, "release notes"),
    ("CHANGELOG*", DefaultAction::Ignore, "release notes"),
    (
        "CODEOWNERS",
        DefaultAction::Ignore,
        "repository housekeeping",
    ),
    (
        ".gitignore",
        DefaultAction::Ignore,
        "repository housekeeping",
    ),
    (
        ".gitattributes",
        DefaultAction::Ignore,
        "repository housekeeping",
    ),
    (".mailmap", DefaultAction::Ignore, "repository housekeeping"),
    (
        ".editorconfig",
        DefaultAction::Ignore,
        "repository housekeeping",
    ),
    ("rustfmt.toml", DefaultAction::Ignore, "formatting settings"),
    (
        ".rustfmt.toml",
        DefaultAction::Ignore,
        "formatting settings",
    ),
    ("clippy.toml", DefaultAction::Ignore, "lint settings"),
    (".clippy.toml", DefaultAction::Ignore, "lint settings"),
    (
        "/.hourglass/**",
        DefaultAction::Ignore,
        "hourglass's own files",
    ),
    (
        "/rust-toolchain",
        DefaultAction::RunAll,
        "the toolchain changed",
    ),
    (
        "/rust-toolchain.toml",
        DefaultAction::RunAll,
        "the toolchain changed",
    ),
    (
        "**/.cargo/config",
        DefaultAction::RunAll,
        "cargo configuration changed",
    ),
    (
        "**/.cargo/config.toml",
        DefaultAction::RunAll,
        "cargo configuration changed",
    ),
    (
        "/.config/nextest.toml",
        DefaultAction::RunAll,
        "nextest configuration changed",
    ),
];

#[derive(Debug, Clone, Copy)]
enum DefaultAction {
    Ignore,
    RunAll,
}

impl Rules {
    /// The built-in rules. Ignored: Markdown, reStructuredText and AsciiDoc
    /// files, `docs/**`, `LICENSE*`, `COPYING*`, `COPYRIGHT*`, `NOTICE*`,
    /// `AUTHORS*`, `CHANGELOG*`, `CODEOWNERS`, `.gitignore`,
    /// `.gitattributes`, `.mailmap`, `.editorconfig`, rustfmt and clippy
    /// settings, `.hourglass/**`. Everything runs for: `rust-toolchain`,
    /// `rust-toolchain.toml`, `.cargo/config(.toml)` at any depth and
    /// `.config/nextest.toml`.
    ///
    /// A file that some code includes (`include_str!`) is never ignored, even
    /// when a rule matches it.
    pub fn defaults() -> Rules {
        Rules {
            rules: DEFAULT_RULES
                .iter()
                .map(|(pattern, action, reason)| {
                    let action = match action {
                        DefaultAction::Ignore => RuleAction::Ignore,
                        DefaultAction::RunAll => RuleAction::RunAll,
                    };
                    PathRule::new(*pattern, action, Some(reason))
                })
                .collect(),
        }
    }

    /// `user` rules first, then these: the first match wins.
    #[must_use]
    pub fn with(self, user: Vec<PathRule>) -> Rules {
        let mut rules = user;
        rules.extend(self.rules);
        Rules { rules }
    }

    /// The first rule matching `path`. A pattern that is not a valid glob
    /// never matches (see [`Rules::invalid_patterns`]).
    pub fn first_match(&self, path: &str) -> Option<&PathRule> {
        self.rules
            .iter()
            .find(|rule| compile(&rule.pattern).is_some_and(|glob| glob.is_match(path)))
    }

    /// Patterns that are not valid globs, with the reason.
    pub fn invalid_patterns(&self) -> Vec<(String, String)> {
        self.rules
            .iter()
            .filter_map(|rule| {
                let pattern = anchored(&rule.pattern);
                GlobBuilder::new(&pattern)
                    .literal_separator(true)
                    .build()
                    .err()
                    .map(|error| (rule.pattern.clone(), error.to_string()))
            })
            .collect()
    }
}

/// The gitignore-like pattern as a globset pattern from the root.
fn anchored(pattern: &str) -> String {
    let mut pattern = pattern.trim().to_owned();
    if pattern.ends_with('/') {
        pattern.push_str("**");
    }
    if let Some(rooted) = pattern.strip_prefix('/') {
        rooted.to_owned()
    } else if pattern.contains('/') {
        pattern
    } else {
        format!("**/{pattern}")
    }
}

fn compile(pattern: &str) -> Option<GlobMatcher> {
    let pattern = anchored(pattern);
    let glob: Glob = GlobBuilder::new(&pattern)
        .literal_separator(true)
        .build()
        .ok()?;
    Some(glob.compile_matcher())
}

/// A glob over printed test ids (`<binary id> <test name>`); `*` crosses
/// `::` and `/`.
pub(crate) fn test_matcher(pattern: &str) -> Option<GlobMatcher> {
    Some(Glob::new(pattern.trim()).ok()?.compile_matcher())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, path: &str) -> bool {
        compile(pattern).expect("valid").is_match(path)
    }

    #[test]
    fn a_pattern_without_a_slash_matches_at_any_depth() {
        assert!(matches("*.md", "README.md"));
        assert!(matches("*.md", "crates/a/README.md"));
        assert!(!matches("*.md", "src/lib.rs"));
    }

    #[test]
    fn a_pattern_with_a_slash_is_rooted() {
        assert!(matches("docs/**", "docs/a/b.txt"));
        assert!(!matches("docs/**", "crates/a/docs/b.txt"));
        assert!(matches("/rust-toolchain", "rust-toolchain"));
        assert!(!matches("/rust-toolchain", "x/rust-toolchain"));
        assert!(matches("fixtures/", "fixtures/a/b"));
    }

    #[test]
    fn a_single_star_stops_at_slashes() {
        assert!(matches("src/*.rs", "src/lib.rs"));
        assert!(!matches("src/*.rs", "src/a/lib.rs"));
    }

    #[test]
    fn user_rules_come_first() {
        let rules = Rules::defaults().with(vec![PathRule::new(
            "docs/**",
            RuleAction::RunAll,
            Some("docs are tested"),
        )]);
        assert_eq!(
            rules.first_match("docs/x.md").map(|r| &r.action),
            Some(&RuleAction::RunAll)
        );
        assert_eq!(
            Rules::defaults()
                .first_match("docs/x.md")
                .map(|r| &r.action),
            Some(&RuleAction::Ignore)
        );
    }

    #[test]
    fn default_rules_are_valid_and_leave_ci_and_code_alone() {
        let rules = Rules::defaults();
        assert!(rules.invalid_patterns().is_empty());
        assert!(rules.first_match(".github/workflows/ci.yml").is_none());
        assert!(rules.first_match("src/lib.rs").is_none());
        assert!(rules.first_match("Cargo.toml").is_none());
        assert_eq!(
            rules.first_match("rust-toolchain.toml").map(|r| &r.action),
            Some(&RuleAction::RunAll)
        );
        assert_eq!(
            rules
                .first_match("crates/a/.cargo/config.toml")
                .map(|r| &r.action),
            Some(&RuleAction::RunAll)
        );
    }

    #[test]
    fn an_invalid_pattern_is_reported_and_never_matches() {
        let rules = Rules::default().with(vec![PathRule::new("a[", RuleAction::RunAll, None)]);
        assert_eq!(rules.invalid_patterns().len(), 1);
        assert!(rules.first_match("a[").is_none());
    }
}
