//! Integration tests of the history store: real SQLite files on disk.

mod ci_jobs;
mod concurrency;
mod ingest;
mod migrations;
mod prune;
mod reading;
mod round_trip;
mod support;
