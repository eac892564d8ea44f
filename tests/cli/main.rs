//! Command-line tests: the real `hourglass` binary, run in temporary git
//! repositories.

mod graph;
mod ingest;
mod insight;
mod postgres;
mod select;
mod support;
