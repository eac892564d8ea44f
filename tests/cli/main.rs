//! Command-line tests: the real `hourglass` binary, run in temporary git
//! repositories.

mod graph;
mod ingest;
mod insight;
mod select;
mod support;
mod unseen;
