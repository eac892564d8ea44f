//! The shared vocabulary of hourglass.
//!
//! Every other crate speaks in these types, so that the test graph, the JUnit
//! reader, the history store and the analyses agree on what a test *is* and
//! what happened to it. Nothing here does I/O.
//!
//! # Test identity
//!
//! Rust tests are named exactly as cargo-nextest names them: a *binary id*
//! (`<package>`, `<package>::bin/<name>`, `<package>::<test target>`,
//! `<package>::bench/<name>`, `<package>::example/<name>`) and a *test name*
//! (the module path inside that binary). nextest's JUnit output puts the
//! binary id in `testsuite/@name` and `testcase/@classname` and the test name
//! in `testcase/@name`, so a [`TestKey`] read from that JUnit and a
//! [`RustTestId`] from the graph meet on `(classname, name)`.
//!
//! Results from other languages keep the identity their JUnit gives them:
//! suite, classname and name.
//!
//! # Change sets
//!
//! A [`ChangeSet`] is a list of changed files with the line ranges touched on
//! each side. git is one way to make one, a unified diff another; selection
//! takes a `ChangeSet`, never a repository.

use std::fmt;

use serde::{Deserialize, Serialize};

mod change;
mod ci;
mod result;

pub use change::{ChangeKind, ChangeSet, FileChange, LineRange};
pub use ci::{CiJob, CiProvider};
pub use result::{Attempt, AttemptOutcome, Outcome, Property, RunMeta, TestKey, TestResult};

/// A Rust test as cargo-nextest names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RustTestId {
    /// `<package>`, `<package>::bin/<name>`, `<package>::<test target>`, ...
    pub binary_id: String,
    /// The module path inside the binary, e.g. `parse::tests::rejects_empty`.
    pub name: String,
}

impl RustTestId {
    pub fn new(binary_id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            binary_id: binary_id.into(),
            name: name.into(),
        }
    }

    /// Parses the printed form `<binary id> <test name>`.
    pub fn parse(text: &str) -> Option<Self> {
        let (binary_id, name) = text.trim().split_once(' ')?;
        let name = name.trim();
        if binary_id.is_empty() || name.is_empty() {
            return None;
        }
        Some(Self::new(binary_id, name))
    }
}

impl fmt::Display for RustTestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.binary_id, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_test_id_round_trips_through_its_printed_form() {
        let id = RustTestId::new("semver::test_version", "test_parse");
        assert_eq!(id.to_string(), "semver::test_version test_parse");
        assert_eq!(RustTestId::parse(&id.to_string()), Some(id));
    }

    #[test]
    fn rust_test_id_parse_rejects_a_missing_name() {
        assert_eq!(RustTestId::parse("semver"), None);
        assert_eq!(RustTestId::parse("semver "), None);
    }
}
