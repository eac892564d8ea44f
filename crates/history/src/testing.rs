//! Throwaway PostgreSQL databases for tests (hidden from the docs).
//!
//! `HOURGLASS_TEST_PG` names a server (a `postgres://` URL whose user may
//! create databases; `.ci/postgres start` prints one). Each
//! [`TestDatabase`] is a new database on it, dropped when the value is.
//! Without the variable, [`TestDatabase::create`] returns `None` and says
//! on stderr that the PostgreSQL case did not run, unless `CI=true`, where
//! it panics: CI must run them.

use std::sync::atomic::{AtomicU64, Ordering};

use postgres::Client;

use crate::pg::connect;

/// A database created for one test, dropped with it.
pub struct TestDatabase {
    admin: String,
    name: String,
    url: String,
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// The server URL the tests use, if any; see the module docs.
pub fn server_url(test: &str) -> Option<String> {
    match std::env::var("HOURGLASS_TEST_PG") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: HOURGLASS_TEST_PG is not set; under CI the PostgreSQL cases must run (.ci/postgres start)"
            );
            eprintln!(
                "{test}: PostgreSQL case did not run: HOURGLASS_TEST_PG is not set (eval \"$(.ci/postgres start)\" starts a server)"
            );
            None
        }
    }
}

fn admin_client(url: &str) -> Client {
    let target = connect::resolve(url, &connect::Environment::process())
        .unwrap_or_else(|error| panic!("HOURGLASS_TEST_PG: {error}"));
    connect::connect(&target).unwrap_or_else(|error| {
        panic!("HOURGLASS_TEST_PG is set but the server cannot be used: {error}")
    })
}

/// `url` with its database replaced by `dbname`.
pub fn with_database(url: &str, dbname: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let authority = rest
        .split_once('/')
        .map_or(rest, |(authority, _)| authority);
    let mut out = format!("{scheme}://{authority}/{dbname}");
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

impl TestDatabase {
    /// A new empty database, or `None` (with a line on stderr) when no
    /// server is configured outside CI.
    pub fn create(test: &str) -> Option<Self> {
        let admin = server_url(test)?;
        let name = format!(
            "hourglass_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst),
            jiff::Timestamp::now().as_nanosecond() % 1_000_000_000
        );
        admin_client(&admin)
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|error| panic!("creating the test database {name}: {error}"));
        let url = with_database(&admin, &name);
        Some(Self { admin, name, url })
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let target = connect::resolve(&self.admin, &connect::Environment::process());
        if let Ok(target) = target
            && let Ok(mut client) = connect::connect(&target)
        {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// The key under which the stores keep `text` in `blobs`.
pub fn text_key(text: &str) -> Vec<u8> {
    crate::blobs::hash(text).to_vec()
}
