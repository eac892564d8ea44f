//! Correctness of the analyses on simulated histories with a known truth,
//! and properties that hold for any input.

mod properties;
mod simulated;
