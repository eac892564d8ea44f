//! Per-test coverage for test selection: which functions each test ran,
//! read from the raw profiles (`.profraw`) that binaries built with
//! `-C instrument-coverage` write, one per test process under
//! cargo-nextest.
//!
//! - [`profraw`] reads a raw profile: its function records, whether each
//!   ran, and their names.
//! - [`symbol`] turns a function's (mangled) name into the keys the graph's
//!   items are looked up by.
//! - [`map`] keeps, for one commit, the tests that ran each key and the
//!   binaries that hold it, in a file `hourglass select --coverage` reads.
//! - [`collect`] is the run: the rustc wrapper that instruments the
//!   workspace's crates, the nextest target runner that gives every test
//!   process its own profile, and the reduction of those profiles into a
//!   map.

pub mod collect;
pub mod map;
pub mod profraw;
pub mod symbol;

pub use map::{CoverageMap, CoveredTest, MapBuilder, MapError, Verdict};
