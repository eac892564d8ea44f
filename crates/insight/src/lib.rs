//! Pure analyses of the result history: flaky, broken, fixed and slow tests,
//! and CODEOWNERS routing.
//!
//! Nothing here does I/O: the caller reads the history, the CODEOWNERS file
//! and the quarantine file, and hands over values.
//!
//! # What it does
//!
//! - [`flaky`]: a [`Verdict`] per test (flaky, broken, fixed, healthy) with a
//!   score, a confidence and the [`Evidence`] behind it.
//! - [`slow`]: p50/p95/max durations, shares of the total time, per-suite
//!   totals, and duration regressions found by a change-point test.
//! - [`codeowners`]: CODEOWNERS as GitHub and GitLab read it, with
//!   `hourglass.toml` overrides; [`locate`] maps a test to its source file.
//! - [`quarantine`]: the `.hourglass/quarantine.toml` file: parse, merge the
//!   current verdicts in, serialize deterministically.
//! - [`simulate`]: seeded histories with known truth, for tests and benches.
//!
//! # How it works
//!
//! The caller selects a window of runs (by date, count or branch) and gives
//! them in time order as [`Run`]s. Then, one test at a time, it gives that
//! test's [`Observation`]s; [`FlakyAnalyzer`] and [`SlowAnalyzer`] keep
//! nothing between tests, so memory stays bounded by one test's series
//! however long the history is. Each module's documentation says how its
//! analysis decides.
//!
//! # Limitations
//!
//! - A test's identity is its [`TestKey`](hourglass_model::TestKey); a
//!   renamed test starts a new history.
//! - One change point per test for durations; one failing streak for
//!   breakages (the newest).
//! - CODEOWNERS patterns with character ranges (`[a-z]`) or negation (`!`)
//!   are reported as errors, as GitHub does, and skipped.

pub mod codeowners;
pub mod flaky;
pub mod locate;
pub mod outcomes;
pub mod quarantine;
pub mod series;
pub mod simulate;
pub mod slow;
pub mod stats;

pub use codeowners::{Codeowners, CodeownersError, Ownership};
pub use flaky::{
    Breakage, CommitConflict, Evidence, FlakyAnalyzer, FlakySettings, TestVerdict, Verdict,
};
pub use locate::{FileIndex, Located, LocatedVia, TestLocator};
pub use quarantine::{Quarantine, QuarantineEntry, QuarantineError};
pub use series::{Observation, Run, RunRef, SeriesGrouper, TestSeries};
pub use slow::{
    Regression, RegressionBounds, SlowAnalyzer, SlowReport, SlowReportBuilder, SlowSettings,
    SuiteTotal, TestTiming,
};
