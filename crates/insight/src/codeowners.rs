//! CODEOWNERS, as GitHub and GitLab read it.
//!
//! # How it works
//!
//! The caller finds the file (the first of [`LOCATIONS`] that exists) and
//! hands over its text; [`Codeowners::parse`] returns the rules and, for the
//! lines it could not read, [`CodeownersError`]s with their line numbers —
//! the other lines still count.
//!
//! Each rule is a pattern and zero or more owners (`@user`, `@org/team`, an
//! e-mail address). Patterns follow gitignore as GitHub applies it:
//!
//! - a pattern with a `/` at its start or in its middle is anchored at the
//!   repository root; one without matches at any depth (`*.rs`, `build/`);
//! - `*` and `?` do not cross `/`; `**` does;
//! - a pattern matches a file and everything below a directory of that name,
//!   except that a trailing `/*` matches only the files directly inside;
//! - a trailing `/` matches directories only (so only the files below);
//! - `\ ` is a space in a file name, `\#` a leading `#`; a `#` token starts a
//!   comment;
//! - negation (`!`) and character ranges (`[a-z]`) are errors, as on GitHub.
//!
//! The **last** matching rule wins, and a rule with no owners un-owns what
//! it matches. An invalid owner is reported and dropped from its line; a
//! line whose owners are all invalid is skipped.
//!
//! GitLab *sections* are read too: `[Section]`, `^[Optional section]`,
//! `[Section][2]` (approvals needed) and default owners on the section line
//! (`[Docs] @docs-team`), which a rule without owners in that section gets.
//! Sections with the same name (ignoring case) are one section. A file takes
//! the owners of the last matching rule of *every* section that matches it;
//! rules before the first section form a section of their own. A file
//! without sections is one section, which is GitHub's behaviour.
//!
//! Owner overrides from `hourglass.toml` ([`Codeowners::with_overrides`])
//! take precedence: when one matches (last match wins), its owners are the
//! file's owners.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

/// Where GitHub looks for the file, in order; the first that exists is used.
pub const LOCATIONS: [&str; 3] = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"];

/// The first of [`LOCATIONS`] for which `exists` is true.
pub fn locate(exists: impl Fn(&str) -> bool) -> Option<&'static str> {
    LOCATIONS.into_iter().find(|path| exists(path))
}

/// A line of CODEOWNERS (or an override) that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[non_exhaustive]
pub enum CodeownersError {
    #[error(
        "line {line}: `{owner}` is not an owner (expected @user, @org/team or an e-mail address)"
    )]
    InvalidOwner { line: usize, owner: String },
    #[error("line {line}: pattern `{pattern}`: {message}")]
    InvalidPattern {
        line: usize,
        pattern: String,
        message: String,
    },
    #[error("line {line}: malformed section header `{text}`")]
    MalformedSection { line: usize, text: String },
    #[error("owners override `{pattern}`: {message}")]
    InvalidOverride { pattern: String, message: String },
}

impl CodeownersError {
    /// The 1-based line of the error; `None` for an override.
    pub fn line(&self) -> Option<usize> {
        match self {
            CodeownersError::InvalidOwner { line, .. }
            | CodeownersError::InvalidPattern { line, .. }
            | CodeownersError::MalformedSection { line, .. } => Some(*line),
            CodeownersError::InvalidOverride { .. } => None,
        }
    }
}

/// A GitLab section (the rules before any header form an unnamed one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// `None` for the rules before the first header.
    pub name: Option<String>,
    /// `^[Section]`.
    pub optional: bool,
    /// `[Section][2]`.
    pub approvals: Option<u32>,
    /// Owners on the header line, for rules of the section without owners.
    pub default_owners: Vec<String>,
}

/// One pattern line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// 1-based line in the file.
    pub line: usize,
    pub pattern: String,
    /// As written; empty un-owns (or takes the section's default owners).
    pub owners: Vec<String>,
    /// Index into [`Codeowners::sections`].
    pub section: usize,
}

/// Who owns a path, and which rules said so.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ownership {
    /// Owners in section order, without repeats; empty when unowned.
    pub owners: Vec<String>,
    /// Lines of the deciding rules (empty when an override decided).
    pub lines: Vec<usize>,
    /// An `hourglass.toml` override decided.
    pub overridden: bool,
}

impl Ownership {
    pub fn is_owned(&self) -> bool {
        !self.owners.is_empty()
    }
}

/// Compiled rules of one source.
#[derive(Debug, Clone)]
struct Matcher {
    set: GlobSet,
    /// Glob index → rule index.
    rule_of_glob: Vec<usize>,
}

impl Matcher {
    fn build(patterns: &[&str]) -> (Matcher, Vec<(usize, String)>) {
        let mut builder = GlobSetBuilder::new();
        let mut rule_of_glob = Vec::new();
        let mut errors = Vec::new();
        for (rule, pattern) in patterns.iter().enumerate() {
            match globs_for(pattern) {
                Ok(globs) => {
                    for glob in globs {
                        builder.add(glob);
                        rule_of_glob.push(rule);
                    }
                }
                Err(message) => errors.push((rule, message)),
            }
        }
        let set = builder.build().unwrap_or_else(|_| GlobSet::empty());
        (Matcher { set, rule_of_glob }, errors)
    }

    /// Indices of the matching rules, ascending, without repeats.
    fn matching(&self, path: &str) -> Vec<usize> {
        let mut rules: Vec<usize> = self
            .set
            .matches(path)
            .into_iter()
            .map(|glob| self.rule_of_glob[glob])
            .collect();
        rules.sort_unstable();
        rules.dedup();
        rules
    }
}

/// Parsed CODEOWNERS with optional overrides.
#[derive(Debug, Clone)]
pub struct Codeowners {
    pub sections: Vec<Section>,
    pub rules: Vec<Rule>,
    matcher: Matcher,
    overrides: Vec<(String, Vec<String>)>,
    override_matcher: Option<Matcher>,
}

impl Default for Codeowners {
    fn default() -> Self {
        Codeowners::parse("").0
    }
}

impl Codeowners {
    /// Parses CODEOWNERS text. Lines in error are reported and skipped (an
    /// invalid owner alone is dropped from its line).
    pub fn parse(text: &str) -> (Codeowners, Vec<CodeownersError>) {
        let mut errors = Vec::new();
        let mut sections = vec![Section {
            name: None,
            optional: false,
            approvals: None,
            default_owners: Vec::new(),
        }];
        let mut current = 0;
        let mut rules = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if trimmed.starts_with('[') || trimmed.starts_with("^[") {
                match parse_section(trimmed) {
                    Some((mut section, owner_text)) => {
                        section.default_owners =
                            owners_of_tokens(&tokens(owner_text), line, &mut errors);
                        let existing = sections.iter().position(|s| {
                            s.name
                                .as_deref()
                                .zip(section.name.as_deref())
                                .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
                        });
                        current = if let Some(existing) = existing {
                            if !section.default_owners.is_empty() {
                                sections[existing].default_owners = section.default_owners;
                            }
                            existing
                        } else {
                            sections.push(section);
                            sections.len() - 1
                        };
                    }
                    None => errors.push(CodeownersError::MalformedSection {
                        line,
                        text: trimmed.to_owned(),
                    }),
                }
                continue;
            }
            let tokens = tokens(trimmed);
            let Some((pattern, owners)) = tokens.split_first() else {
                continue;
            };
            if let Err(message) = check_pattern(pattern) {
                errors.push(CodeownersError::InvalidPattern {
                    line,
                    pattern: pattern.clone(),
                    message,
                });
                continue;
            }
            let written = owners.len();
            let owners = owners_of_tokens(owners, line, &mut errors);
            if written > 0 && owners.is_empty() {
                // Every owner was invalid: the line is skipped, not read as un-owning.
                continue;
            }
            rules.push(Rule {
                line,
                pattern: pattern.clone(),
                owners,
                section: current,
            });
        }
        let patterns: Vec<&str> = rules.iter().map(|r| r.pattern.as_str()).collect();
        let (matcher, glob_errors) = Matcher::build(&patterns);
        for (rule, message) in glob_errors {
            errors.push(CodeownersError::InvalidPattern {
                line: rules[rule].line,
                pattern: rules[rule].pattern.clone(),
                message,
            });
        }
        let codeowners = Codeowners {
            sections,
            rules,
            matcher,
            overrides: Vec::new(),
            override_matcher: None,
        };
        (codeowners, errors)
    }

    /// Lays `hourglass.toml` owner overrides (pattern → owners, later
    /// entries win) over the file.
    pub fn with_overrides(
        mut self,
        overrides: &[(String, Vec<String>)],
    ) -> (Codeowners, Vec<CodeownersError>) {
        let mut errors = Vec::new();
        let mut kept = Vec::new();
        for (pattern, owners) in overrides {
            match check_pattern(pattern) {
                Ok(()) => kept.push((pattern.clone(), owners.clone())),
                Err(message) => errors.push(CodeownersError::InvalidOverride {
                    pattern: pattern.clone(),
                    message,
                }),
            }
        }
        let patterns: Vec<&str> = kept.iter().map(|(p, _)| p.as_str()).collect();
        let (matcher, glob_errors) = Matcher::build(&patterns);
        for (index, message) in glob_errors {
            errors.push(CodeownersError::InvalidOverride {
                pattern: kept[index].0.clone(),
                message,
            });
        }
        self.overrides = kept;
        self.override_matcher = Some(matcher);
        (self, errors)
    }

    /// The owners of a repository-relative path (`/`-separated, no leading `/`).
    pub fn owners_of(&self, path: &str) -> Ownership {
        let path = path.trim_start_matches("./").trim_start_matches('/');
        if let Some(matcher) = &self.override_matcher
            && let Some(&last) = matcher.matching(path).last()
        {
            return Ownership {
                owners: self.overrides[last].1.clone(),
                lines: Vec::new(),
                overridden: true,
            };
        }
        let matching = self.matcher.matching(path);
        let mut last_in_section: Vec<Option<usize>> = vec![None; self.sections.len()];
        for rule in matching {
            last_in_section[self.rules[rule].section] = Some(rule);
        }
        let mut ownership = Ownership::default();
        for (section, rule) in last_in_section.into_iter().enumerate() {
            let Some(rule) = rule else { continue };
            let rule = &self.rules[rule];
            ownership.lines.push(rule.line);
            let owners = if rule.owners.is_empty() {
                &self.sections[section].default_owners
            } else {
                &rule.owners
            };
            for owner in owners {
                if !ownership.owners.contains(owner) {
                    ownership.owners.push(owner.clone());
                }
            }
        }
        ownership
    }
}

/// Splits on unescaped whitespace; a token starting with `#` ends the line.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            current.push('\\');
            if let Some(next) = chars.next() {
                current.push(next);
            }
        } else if c.is_whitespace() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else if c == '#' && current.is_empty() {
            break;
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn owners_of_tokens(
    tokens: &[String],
    line: usize,
    errors: &mut Vec<CodeownersError>,
) -> Vec<String> {
    let mut owners = Vec::new();
    for token in tokens {
        if is_owner(token) {
            owners.push(token.clone());
        } else {
            errors.push(CodeownersError::InvalidOwner {
                line,
                owner: token.clone(),
            });
        }
    }
    owners
}

fn is_owner(token: &str) -> bool {
    let name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/');
    if let Some(name) = token.strip_prefix('@') {
        return !name.is_empty()
            && !name.starts_with('/')
            && !name.ends_with('/')
            && name.chars().all(name_char);
    }
    match token.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !token.chars().any(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

/// `[Name]`, `^[Name]`, `[Name][2]`, followed by default owners.
fn parse_section(text: &str) -> Option<(Section, &str)> {
    let (optional, rest) = match text.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let rest = rest.strip_prefix('[')?;
    let close = rest.find(']')?;
    let name = rest[..close].trim();
    if name.is_empty() {
        return None;
    }
    let mut rest = &rest[close + 1..];
    let mut approvals = None;
    if let Some(after) = rest.strip_prefix('[') {
        let close = after.find(']')?;
        approvals = Some(after[..close].trim().parse().ok()?);
        rest = &after[close + 1..];
    }
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return None;
    }
    Some((
        Section {
            name: Some(name.to_owned()),
            optional,
            approvals,
            default_owners: Vec::new(),
        },
        rest,
    ))
}

/// Rejects what GitHub rejects.
fn check_pattern(pattern: &str) -> Result<(), String> {
    if pattern.starts_with('!') {
        return Err("negation (`!`) is not supported".into());
    }
    let mut escaped = false;
    for c in pattern.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' | ']' => return Err("character ranges (`[...]`) are not supported".into()),
            _ => {}
        }
    }
    if pattern.trim_matches('/').is_empty() && pattern != "/" {
        return Err("empty pattern".into());
    }
    Ok(())
}

/// gitignore-style pattern → globs over repository-relative file paths.
fn globs_for(pattern: &str) -> Result<Vec<globset::Glob>, String> {
    let dir_only = pattern.ends_with('/') && !pattern.ends_with("\\/");
    let body = pattern.trim_end_matches('/');
    let anchored = body.starts_with('/') || body.trim_start_matches('/').contains('/');
    let body = body.trim_start_matches('/');
    if body.is_empty() {
        // `/` alone: the whole repository.
        return Ok(vec![glob("**")?]);
    }
    let mut escaped = String::with_capacity(body.len() + 4);
    for c in body.chars() {
        if matches!(c, '{' | '}') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    let base = if anchored || escaped.starts_with("**/") {
        escaped
    } else {
        format!("**/{escaped}")
    };
    let children_only = body.ends_with("/*") && !body.ends_with("/**");
    let mut globs = Vec::with_capacity(2);
    if !dir_only {
        globs.push(glob(&base)?);
    }
    if !children_only && !base.ends_with("/**") {
        globs.push(glob(&format!("{base}/**"))?);
    }
    if globs.is_empty() {
        globs.push(glob(&base)?);
    }
    Ok(globs)
}

fn glob(text: &str) -> Result<globset::Glob, String> {
    GlobBuilder::new(text)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| e.kind().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owners(codeowners: &Codeowners, path: &str) -> Vec<String> {
        codeowners.owners_of(path).owners
    }

    fn parse_ok(text: &str) -> Codeowners {
        let (codeowners, errors) = Codeowners::parse(text);
        assert!(errors.is_empty(), "{errors:?}");
        codeowners
    }

    #[test]
    fn the_last_matching_line_wins() {
        let c = parse_ok("* @all\n*.rs @rust\n/src/cli/ @cli\n");
        assert_eq!(owners(&c, "README.md"), ["@all"]);
        assert_eq!(owners(&c, "crates/x/src/lib.rs"), ["@rust"]);
        assert_eq!(owners(&c, "src/cli/mod.rs"), ["@cli"]);
        assert_eq!(c.owners_of("src/cli/mod.rs").lines, [3]);
    }

    #[test]
    fn unanchored_names_match_at_any_depth_and_anchored_ones_at_the_root() {
        let c = parse_ok("build/ @build\n/docs/ @docs\napps/ @apps\n");
        assert_eq!(owners(&c, "build/x.txt"), ["@build"]);
        assert_eq!(owners(&c, "a/b/build/x.txt"), ["@build"]);
        assert_eq!(owners(&c, "docs/a/b.md"), ["@docs"]);
        assert!(owners(&c, "src/docs/b.md").is_empty());
        assert_eq!(owners(&c, "x/apps/y/z.js"), ["@apps"]);
    }

    #[test]
    fn a_pattern_with_a_middle_slash_is_anchored() {
        let c = parse_ok("docs/api @api\n");
        assert_eq!(owners(&c, "docs/api/x.md"), ["@api"]);
        assert!(owners(&c, "a/docs/api/x.md").is_empty());
    }

    #[test]
    fn a_trailing_star_matches_only_direct_children() {
        let c = parse_ok("/docs/* @docs\n");
        assert_eq!(owners(&c, "docs/getting-started.md"), ["@docs"]);
        assert!(owners(&c, "docs/build-app/troubleshooting.md").is_empty());
    }

    #[test]
    fn stars_and_question_marks_stay_within_a_component() {
        let c = parse_ok("/src/*.rs @top\n/lib/**/test_?.py @tests\n**/logs @logs\n");
        assert_eq!(owners(&c, "src/main.rs"), ["@top"]);
        assert!(owners(&c, "src/cli/main.rs").is_empty());
        assert_eq!(owners(&c, "lib/a/b/test_x.py"), ["@tests"]);
        assert_eq!(owners(&c, "lib/test_y.py"), ["@tests"]);
        assert!(owners(&c, "lib/test_yy.py").is_empty());
        assert_eq!(owners(&c, "deep/logs/today.txt"), ["@logs"]);
    }

    #[test]
    fn a_pattern_without_owners_unowns() {
        let c = parse_ok("* @all\n/vendor/\n");
        assert!(owners(&c, "vendor/lib.c").is_empty());
        assert_eq!(owners(&c, "src/lib.c"), ["@all"]);
    }

    #[test]
    fn escaped_spaces_and_comments() {
        let c = parse_ok("# owners\n/My\\ Docs/ @docs # trailing comment\n\\#notes @hash\n");
        assert_eq!(owners(&c, "My Docs/a.md"), ["@docs"]);
        assert_eq!(owners(&c, "#notes"), ["@hash"]);
        assert_eq!(c.rules[0].owners, ["@docs"]);
    }

    #[test]
    fn malformed_lines_are_reported_with_their_line_and_the_rest_kept() {
        let text =
            "* @all\n!secret @x\n/a/[ab].rs @y\n[Broken\n/b/ not-an-owner @ok\n/c/ @c\n/d/ bad\n";
        let (c, errors) = Codeowners::parse(text);
        let lines: Vec<Option<usize>> = errors.iter().map(CodeownersError::line).collect();
        assert_eq!(lines, [Some(2), Some(3), Some(4), Some(5), Some(7)]);
        assert!(
            matches!(&errors[3], CodeownersError::InvalidOwner { owner, .. } if owner == "not-an-owner")
        );
        assert_eq!(owners(&c, "b/x"), ["@ok"]);
        assert_eq!(owners(&c, "c/x"), ["@c"]);
        assert_eq!(owners(&c, "secret"), ["@all"]);
        assert_eq!(
            owners(&c, "d/x"),
            ["@all"],
            "a line with only invalid owners is skipped"
        );
    }

    #[test]
    fn gitlab_sections_all_apply_with_their_defaults() {
        let text = "\
* @all
[Docs] @docs-team
*.md
/internal/*.md @internal-docs
^[Security][2] @sec
/src/auth/
[docs]
README.md @readme
";
        let (c, errors) = Codeowners::parse(text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(c.sections.len(), 3);
        assert!(c.sections[2].optional);
        assert_eq!(c.sections[2].approvals, Some(2));
        assert_eq!(owners(&c, "guide.md"), ["@all", "@docs-team"]);
        assert_eq!(owners(&c, "internal/x.md"), ["@all", "@internal-docs"]);
        assert_eq!(owners(&c, "src/auth/login.rs"), ["@all", "@sec"]);
        assert_eq!(owners(&c, "README.md"), ["@all", "@readme"]);
    }

    #[test]
    fn overrides_take_precedence() {
        let (c, errors) = Codeowners::parse("* @all\n");
        assert!(errors.is_empty());
        let overrides = vec![
            ("/src/**".to_owned(), vec!["@src".to_owned()]),
            ("!bad".to_owned(), vec!["@x".to_owned()]),
        ];
        let (c, errors) = c.with_overrides(&overrides);
        assert_eq!(errors.len(), 1);
        let ownership = c.owners_of("src/a/b.rs");
        assert_eq!(ownership.owners, ["@src"]);
        assert!(ownership.overridden);
        assert_eq!(owners(&c, "tests/a.rs"), ["@all"]);
    }

    #[test]
    fn owners_may_be_users_teams_or_emails() {
        assert!(is_owner("@octocat"));
        assert!(is_owner("@org/team-name"));
        assert!(is_owner("dev@example.com"));
        assert!(!is_owner("octocat"));
        assert!(!is_owner("@"));
        assert!(!is_owner("a@b"));
    }

    #[test]
    fn the_first_existing_location_is_used() {
        assert_eq!(
            locate(|p| p == "CODEOWNERS" || p == "docs/CODEOWNERS"),
            Some("CODEOWNERS")
        );
        assert_eq!(locate(|_| false), None);
    }
}
