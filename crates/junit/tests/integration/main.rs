//! Integration tests of the JUnit reader: dialects, quirks, bad input,
//! bounded memory, properties, and files written by real runners.

mod bad_input;
mod dialects;
mod memory;
mod never_panics;
mod quirks;
mod real_runners;
mod support;
