//! The result store: SQLite embedded by default, behind a trait; migrations; idempotent ingest.
