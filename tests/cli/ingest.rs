//! `hourglass ingest` from the command line.
