//! Where a history is: a SQLite file or a PostgreSQL URL.

use std::path::{Path, PathBuf};

use crate::pg::connect::{is_postgres_url, redact};
use crate::{HistoryStore, PgStore, SqliteStore, StoreError};

/// A history store's location, as `--db` or `HOURGLASS_DB` give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL.
    Postgres(String),
}

impl StoreLocation {
    /// Reads a location: a `postgres://` or `postgresql://` URL, else a
    /// path (relative ones resolved against `cwd`). Any other
    /// `scheme://…` is an error, never a file name.
    pub fn parse(text: &str, cwd: &Path) -> Result<Self, StoreError> {
        if is_postgres_url(text) {
            return Ok(Self::Postgres(text.to_owned()));
        }
        if let Some((scheme, _)) = text.split_once("://")
            && !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        {
            return Err(StoreError::UnsupportedUrl {
                location: redact(text),
                scheme: scheme.to_owned(),
            });
        }
        let path = Path::new(text);
        Ok(Self::Sqlite(if path.is_absolute() {
            path.to_path_buf()
        } else {
            cwd.join(path)
        }))
    }

    /// The location for messages: the path, or the URL without its password.
    pub fn display(&self) -> String {
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            Self::Postgres(url) => redact(url),
        }
    }

    /// True when the store is there to read: a SQLite file that exists, or
    /// any PostgreSQL URL (the server says whether it holds a history).
    pub fn exists(&self) -> bool {
        match self {
            Self::Sqlite(path) => path.exists(),
            Self::Postgres(_) => true,
        }
    }
}

/// Opens the store at `location`, creating or migrating its schema.
pub fn open_store(location: &StoreLocation) -> Result<Box<dyn HistoryStore + Send>, StoreError> {
    Ok(match location {
        StoreLocation::Sqlite(path) => Box::new(SqliteStore::open(path)?),
        StoreLocation::Postgres(url) => Box::new(PgStore::open(url)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_never_file_names() {
        let cwd = Path::new("/repo");
        assert_eq!(
            StoreLocation::parse("postgres://ci@db/hg", cwd).unwrap(),
            StoreLocation::Postgres("postgres://ci@db/hg".into())
        );
        assert!(matches!(
            StoreLocation::parse("postgresql://db/hg?sslmode=require", cwd),
            Ok(StoreLocation::Postgres(_))
        ));
        for other in [
            "mysql://db/hg",
            "sqlite:///tmp/h.db",
            "https://example.com/h.db",
        ] {
            assert!(
                matches!(
                    StoreLocation::parse(other, cwd),
                    Err(StoreError::UnsupportedUrl { .. })
                ),
                "{other}"
            );
        }
        assert_eq!(
            StoreLocation::parse("history.db", cwd).unwrap(),
            StoreLocation::Sqlite(PathBuf::from("/repo/history.db"))
        );
        // A colon without `//` is a file name.
        assert_eq!(
            StoreLocation::parse("c:history.db", cwd).unwrap(),
            StoreLocation::Sqlite(PathBuf::from("/repo/c:history.db"))
        );
    }

    #[test]
    fn the_password_is_never_shown() {
        let location = StoreLocation::parse("postgres://ci:hunter2@db/hg", Path::new("/")).unwrap();
        assert!(!location.display().contains("hunter2"));
        let error = StoreLocation::parse("mysql://ci:hunter2@db/hg", Path::new("/")).unwrap_err();
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
}
