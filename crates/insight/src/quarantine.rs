//! `.hourglass/quarantine.toml`: the tests to skip or retry, reviewed in
//! pull requests.
//!
//! # Format
//!
//! ```toml
//! [[test]]
//! suite = "hourglass-history"
//! classname = "hourglass-history"
//! name = "store::tests::concurrent_ingest"
//! reason = "flaky: score 0.42; passed on a retry in 3 runs"
//! owner = "@storage"
//! added = "2026-11-02"
//! expires = "2026-12-02"
//! automatic = true
//! ```
//!
//! Every key but the test's identity is optional. Entries written by hand
//! (without `automatic = true`) are kept by [`Quarantine::merge`] until they
//! expire; automatic entries also leave when the test is fixed or healthy.
//!
//! # How it works
//!
//! [`Quarantine::parse`] reads the text; [`Quarantine::merge`] drops expired
//! entries and automatic ones whose test is now fixed or healthy, and adds
//! the flaky tests not yet listed; [`Quarantine::to_toml`] writes the
//! entries sorted by test, with a fixed key order, so that the same content
//! always gives the same bytes and a change reads well in a diff.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hourglass_model::TestKey;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::flaky::{TestVerdict, Verdict};

/// Where the file lives, relative to the repository root.
pub const PATH: &str = ".hourglass/quarantine.toml";

/// Why the file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QuarantineError {
    #[error("{line}:{column}: {message}")]
    Invalid {
        line: usize,
        column: usize,
        message: String,
    },
}

/// One quarantined test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuarantineEntry {
    #[serde(default)]
    pub suite: String,
    #[serde(default)]
    pub classname: String,
    pub name: String,
    pub reason: Option<String>,
    pub owner: Option<String>,
    pub added: Option<Date>,
    pub expires: Option<Date>,
    /// Written by hourglass: removed when the test is fixed.
    #[serde(default)]
    pub automatic: bool,
}

impl QuarantineEntry {
    pub fn key(&self) -> TestKey {
        TestKey {
            suite: self.suite.clone(),
            classname: self.classname.clone(),
            name: self.name.clone(),
        }
    }
}

/// The quarantine list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quarantine {
    #[serde(default, rename = "test")]
    pub entries: Vec<QuarantineEntry>,
}

/// Why an entry left the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Removal {
    Expired,
    Fixed,
}

/// What [`Quarantine::merge`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineChanges {
    pub added: Vec<TestKey>,
    pub removed: Vec<(TestKey, Removal)>,
}

impl QuarantineChanges {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

impl Quarantine {
    pub fn parse(text: &str) -> Result<Quarantine, QuarantineError> {
        toml::from_str(text).map_err(|error| {
            let offset = error.span().map_or(0, |span| span.start).min(text.len());
            let before = &text[..offset];
            let line = before.matches('\n').count() + 1;
            let column = before
                .rfind('\n')
                .map_or(before.len(), |nl| before.len() - nl - 1)
                + 1;
            QuarantineError::Invalid {
                line,
                column,
                message: error.message().to_owned(),
            }
        })
    }

    pub fn contains(&self, key: &TestKey) -> bool {
        self.entries.iter().any(|entry| {
            entry.name == key.name && entry.classname == key.classname && entry.suite == key.suite
        })
    }

    /// Lays the current verdicts over the list: expired entries leave,
    /// automatic entries of fixed or healthy tests leave, flaky tests not
    /// listed are added (owner from `owner_of`, expiring `ttl_days` after
    /// `today`). Entries of tests absent from `verdicts` stay.
    pub fn merge(
        &self,
        verdicts: &[TestVerdict],
        owner_of: impl Fn(&TestKey) -> Option<String>,
        today: Date,
        ttl_days: u32,
    ) -> (Quarantine, QuarantineChanges) {
        let by_key: BTreeMap<&TestKey, &TestVerdict> =
            verdicts.iter().map(|v| (&v.key, v)).collect();
        let mut changes = QuarantineChanges::default();
        let mut kept: BTreeMap<TestKey, QuarantineEntry> = BTreeMap::new();
        for entry in &self.entries {
            let key = entry.key();
            if entry.expires.is_some_and(|expires| expires < today) {
                changes.removed.push((key, Removal::Expired));
                continue;
            }
            let fixed = by_key
                .get(&key)
                .is_some_and(|v| matches!(v.verdict, Verdict::Fixed | Verdict::Healthy));
            if entry.automatic && fixed {
                changes.removed.push((key, Removal::Fixed));
                continue;
            }
            kept.entry(key).or_insert_with(|| entry.clone());
        }
        let expires = today
            .checked_add(jiff::Span::new().days(i64::from(ttl_days)))
            .ok();
        for verdict in verdicts {
            if verdict.verdict != Verdict::Flaky || kept.contains_key(&verdict.key) {
                continue;
            }
            let mut reason = format!("flaky: score {:.2}", verdict.score);
            if let Some(evidence) = verdict.evidence.first() {
                let _ = write!(reason, "; {evidence}");
            }
            kept.insert(
                verdict.key.clone(),
                QuarantineEntry {
                    suite: verdict.key.suite.clone(),
                    classname: verdict.key.classname.clone(),
                    name: verdict.key.name.clone(),
                    reason: Some(reason),
                    owner: owner_of(&verdict.key),
                    added: Some(today),
                    expires,
                    automatic: true,
                },
            );
            changes.added.push(verdict.key.clone());
        }
        changes.added.sort();
        changes.removed.sort();
        let merged = Quarantine {
            entries: kept.into_values().collect(),
        };
        (merged, changes)
    }

    /// The file's text: a header, then the entries sorted by test.
    pub fn to_toml(&self) -> String {
        let mut entries: Vec<&QuarantineEntry> = self.entries.iter().collect();
        entries.sort_by(|a, b| {
            (&a.suite, &a.classname, &a.name).cmp(&(&b.suite, &b.classname, &b.name))
        });
        let mut out = String::from(
            "# Quarantined tests. `hourglass flaky --update-quarantine` adds new flaky tests\n\
             # and removes expired entries and fixed automatic ones; entries without\n\
             # `automatic = true` are kept until they expire.\n",
        );
        for entry in entries {
            out.push_str("\n[[test]]\n");
            let mut field = |name: &str, value: &str| {
                let _ = writeln!(out, "{name} = {}", toml_string(value));
            };
            field("suite", &entry.suite);
            field("classname", &entry.classname);
            field("name", &entry.name);
            if let Some(reason) = &entry.reason {
                field("reason", reason);
            }
            if let Some(owner) = &entry.owner {
                field("owner", owner);
            }
            if let Some(added) = entry.added {
                field("added", &added.to_string());
            }
            if let Some(expires) = entry.expires {
                field("expires", &expires.to_string());
            }
            if entry.automatic {
                out.push_str("automatic = true\n");
            }
        }
        out
    }
}

/// A TOML basic string.
fn toml_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flaky::Evidence;

    fn key(name: &str) -> TestKey {
        TestKey {
            suite: "s".into(),
            classname: "c".into(),
            name: name.into(),
        }
    }

    fn verdict(name: &str, verdict: Verdict) -> TestVerdict {
        TestVerdict {
            key: key(name),
            verdict,
            score: 0.5,
            confidence: 0.9,
            runs: 20,
            failures: 3,
            retried: 1,
            evidence: vec![Evidence::PassedOnRetry {
                runs: 1,
                last_run: "r9".into(),
            }],
            breakage: None,
            first_flaky: None,
            last_failure: None,
        }
    }

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    const EXISTING: &str = r#"
[[test]]
suite = "s"
classname = "c"
name = "manual_fixed"
reason = "known race"
owner = "@db"

[[test]]
suite = "s"
classname = "c"
name = "auto_fixed"
automatic = true

[[test]]
suite = "s"
classname = "c"
name = "expired"
expires = "2026-01-01"

[[test]]
suite = "s"
classname = "c"
name = "auto_still_flaky"
added = "2026-10-01"
automatic = true
"#;

    #[test]
    fn merge_adds_new_flaky_drops_expired_and_fixed_and_keeps_manual() {
        let quarantine = Quarantine::parse(EXISTING).unwrap();
        let verdicts = vec![
            verdict("manual_fixed", Verdict::Fixed),
            verdict("auto_fixed", Verdict::Healthy),
            verdict("auto_still_flaky", Verdict::Flaky),
            verdict("new_flaky", Verdict::Flaky),
            verdict("broken", Verdict::Broken),
        ];
        let (merged, changes) =
            quarantine.merge(&verdicts, |_| Some("@team".into()), date("2026-11-23"), 30);
        let names: Vec<&str> = merged.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["auto_still_flaky", "manual_fixed", "new_flaky"]);
        assert_eq!(changes.added, [key("new_flaky")]);
        assert_eq!(
            changes.removed,
            [
                (key("auto_fixed"), Removal::Fixed),
                (key("expired"), Removal::Expired)
            ]
        );
        let added = &merged.entries[2];
        assert!(added.automatic);
        assert_eq!(added.owner.as_deref(), Some("@team"));
        assert_eq!(added.expires, Some(date("2026-12-23")));
        assert!(
            added
                .reason
                .as_deref()
                .unwrap()
                .contains("passed on a retry")
        );
        assert_eq!(merged.entries[0].added, Some(date("2026-10-01")));
    }

    #[test]
    fn serialization_is_sorted_and_round_trips() {
        let mut quarantine = Quarantine::parse(EXISTING).unwrap();
        quarantine.entries[0].reason = Some("a \"quoted\" \\ reason\nwith a newline".into());
        let text = quarantine.to_toml();
        let again = Quarantine::parse(&text).unwrap();
        let mut sorted = quarantine.clone();
        sorted.entries.sort_by_key(QuarantineEntry::key);
        assert_eq!(again, sorted);
        assert_eq!(again.to_toml(), text);
    }

    #[test]
    fn an_unknown_key_is_an_error_with_its_line() {
        let error = Quarantine::parse("[[test]]\nname = \"x\"\nreasn = \"typo\"\n").unwrap_err();
        let QuarantineError::Invalid { line, message, .. } = error;
        assert_eq!(line, 3, "{message}");
    }
}
