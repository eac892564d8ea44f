//! Messages and outputs stored once by content hash, compressed.
//!
//! A text goes into `blobs` under the first 16 bytes of its blake3 hash;
//! results refer to it by the blob's id, so a stack trace repeated over a
//! hundred runs is stored once. Texts of [`COMPRESS_FROM`] bytes or more are
//! compressed with zstd when that makes them smaller (codec 1); the others
//! are kept as they are (codec 0).

use std::collections::HashMap;

use rusqlite::{CachedStatement, Connection, OptionalExtension, params};

use crate::StoreError;

/// The text as it is (UTF-8).
pub(crate) const CODEC_PLAIN: i64 = 0;
/// zstd frame of the UTF-8 text.
pub(crate) const CODEC_ZSTD: i64 = 1;
/// Shorter texts are not worth a zstd frame (its header alone is ~10 bytes).
const COMPRESS_FROM: usize = 64;
/// zstd level: 3 is its default, fast and within a few percent of level 9
/// on logs and stack traces.
const LEVEL: i32 = 3;
/// Hashes remembered per writer before the memory is cleared (~3 MB).
const CACHE_LIMIT: usize = 1 << 16;

/// The key of a text in `blobs`.
pub(crate) fn hash(text: &str) -> [u8; 16] {
    let full = blake3::hash(text.as_bytes());
    let mut key = [0; 16];
    key.copy_from_slice(&full.as_bytes()[..16]);
    key
}

/// Stores texts into `blobs` inside the caller's transaction.
pub(crate) struct BlobWriter<'c> {
    find: CachedStatement<'c>,
    insert: CachedStatement<'c>,
    connection: &'c Connection,
    /// Hash → id of the texts this writer has seen.
    known: HashMap<[u8; 16], i64>,
    encoder: Encoder,
}

/// Encodes texts for `blobs`, in every store: the key and the codec's bytes.
pub(crate) struct Encoder {
    compressor: zstd::bulk::Compressor<'static>,
}

impl Encoder {
    pub(crate) fn new() -> Result<Self, StoreError> {
        Ok(Self {
            compressor: zstd::bulk::Compressor::new(LEVEL).map_err(|error| {
                StoreError::Corrupt {
                    what: "zstd compressor",
                    detail: error.to_string(),
                }
            })?,
        })
    }

    /// The codec and the bytes to store for `text`.
    pub(crate) fn encode<'t>(&mut self, text: &'t str) -> (i64, std::borrow::Cow<'t, [u8]>) {
        if text.len() >= COMPRESS_FROM
            && let Ok(packed) = self.compressor.compress(text.as_bytes())
            && packed.len() < text.len()
        {
            return (CODEC_ZSTD, packed.into());
        }
        (CODEC_PLAIN, text.as_bytes().into())
    }
}

impl<'c> BlobWriter<'c> {
    pub(crate) fn new(connection: &'c Connection) -> Result<Self, StoreError> {
        Ok(Self {
            find: connection.prepare_cached("SELECT id FROM blobs WHERE hash = ?1")?,
            insert: connection
                .prepare_cached("INSERT INTO blobs (hash, codec, data) VALUES (?1, ?2, ?3)")?,
            connection,
            known: HashMap::new(),
            encoder: Encoder::new()?,
        })
    }

    /// The id of `text` in `blobs`, stored now if it is new.
    pub(crate) fn intern(&mut self, text: &str) -> Result<i64, StoreError> {
        let key = hash(text);
        if let Some(&id) = self.known.get(&key) {
            return Ok(id);
        }
        let id = if let Some(id) = self
            .find
            .query_row(params![&key[..]], |row| row.get(0))
            .optional()?
        {
            id
        } else {
            let (codec, data) = self.encoder.encode(text);
            self.insert.execute(params![&key[..], codec, data])?;
            self.connection.last_insert_rowid()
        };
        if self.known.len() >= CACHE_LIMIT {
            self.known.clear();
        }
        self.known.insert(key, id);
        Ok(id)
    }
}

/// Reads the text of blob `id`.
pub(crate) fn load(connection: &Connection, id: i64) -> Result<String, StoreError> {
    let (codec, data): (i64, Vec<u8>) = connection
        .prepare_cached("SELECT codec, data FROM blobs WHERE id = ?1")?
        .query_row(params![id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?
        .ok_or_else(|| StoreError::Corrupt {
            what: "blob",
            detail: format!("blob {id} is referenced but missing"),
        })?;
    decode(codec, data)
}

/// The text of a blob's bytes in `codec`.
pub(crate) fn decode(codec: i64, data: Vec<u8>) -> Result<String, StoreError> {
    let bytes = match codec {
        CODEC_PLAIN => data,
        CODEC_ZSTD => zstd::stream::decode_all(&data[..]).map_err(|error| StoreError::Corrupt {
            what: "blob",
            detail: format!("zstd: {error}"),
        })?,
        other => {
            return Err(StoreError::Corrupt {
                what: "blob",
                detail: format!("unknown codec {other}"),
            });
        }
    };
    String::from_utf8(bytes).map_err(|error| StoreError::Corrupt {
        what: "blob",
        detail: error.to_string(),
    })
}

/// Migration 5's data step: moves every inline message and output of
/// `results` into `blobs`, in batches of rowids.
pub(crate) fn move_inline_texts(connection: &Connection) -> Result<(), StoreError> {
    let mut writer = BlobWriter::new(connection)?;
    let mut select = connection.prepare(
        "SELECT id, message, output FROM results \
         WHERE id > ?1 AND (message IS NOT NULL OR output IS NOT NULL) ORDER BY id LIMIT 1024",
    )?;
    let mut update = connection.prepare(
        "UPDATE results SET message = NULL, output = NULL, message_blob = ?2, output_blob = ?3 \
         WHERE id = ?1",
    )?;
    let mut after = i64::MIN;
    loop {
        let batch: Vec<(i64, Option<String>, Option<String>)> = select
            .query_map(params![after], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        let Some(last) = batch.last().map(|(id, _, _)| *id) else {
            return Ok(());
        };
        for (id, message, output) in batch {
            let message = message.map(|text| writer.intern(&text)).transpose()?;
            let output = output.map(|text| writer.intern(&text)).transpose()?;
            update.execute(params![id, message, output])?;
        }
        after = last;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Connection {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch(
                "CREATE TABLE blobs (id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, \
                 codec INTEGER NOT NULL, data BLOB NOT NULL)",
            )
            .unwrap();
        connection
    }

    #[test]
    fn a_text_is_stored_once_and_reads_back() {
        let connection = store();
        let long = "\tat com.example.Service.call(Service.java:42)\n".repeat(40);
        let (a, b, c) = {
            let mut writer = BlobWriter::new(&connection).unwrap();
            (
                writer.intern(&long).unwrap(),
                writer.intern("short").unwrap(),
                writer.intern(&long).unwrap(),
            )
        };
        assert_eq!(a, c);
        assert_ne!(a, b);
        // A second writer (another transaction) finds it in the table.
        let again = BlobWriter::new(&connection).unwrap().intern(&long).unwrap();
        assert_eq!(again, a);
        let count: i64 = connection
            .query_row("SELECT count(*) FROM blobs", [], |row| row.get(0))
            .unwrap();
        assert_eq!(count, 2);
        assert_eq!(load(&connection, a).unwrap(), long);
        assert_eq!(load(&connection, b).unwrap(), "short");
    }

    #[test]
    fn long_repetitive_texts_are_compressed_short_ones_are_not() {
        let connection = store();
        let long = "12:00:01.123 [main] INFO step 3 & done id=4711\n".repeat(100);
        let mut writer = BlobWriter::new(&connection).unwrap();
        let long_id = writer.intern(&long).unwrap();
        let short_id = writer.intern("expected: <42> but was: <41>").unwrap();
        let row = |id: i64| -> (i64, i64) {
            connection
                .query_row(
                    "SELECT codec, length(data) FROM blobs WHERE id = ?1",
                    [id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .unwrap()
        };
        let (codec, size) = row(long_id);
        assert_eq!(codec, CODEC_ZSTD);
        assert!(size * 10 < long.len() as i64, "{size} of {}", long.len());
        assert_eq!(row(short_id).0, CODEC_PLAIN);
    }

    #[test]
    fn unknown_codecs_and_broken_frames_are_corrupt_not_panics() {
        let connection = store();
        connection
            .execute_batch(
                "INSERT INTO blobs VALUES (1, x'01', 7, x'00'); \
                 INSERT INTO blobs VALUES (2, x'02', 1, x'28b52ffd00'); \
                 INSERT INTO blobs VALUES (3, x'03', 0, x'ff');",
            )
            .unwrap();
        for id in 1..=4 {
            assert!(matches!(
                load(&connection, id),
                Err(StoreError::Corrupt { what: "blob", .. })
            ));
        }
    }
}
