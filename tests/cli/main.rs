//! Command-line tests: the real `hourglass` binary, run in temporary git
//! repositories.

mod ci_jobs;
mod coverage;
mod graph;
mod ingest;
mod insight;
mod plan;
mod postgres;
mod report;
mod select;
mod support;
mod unseen;
