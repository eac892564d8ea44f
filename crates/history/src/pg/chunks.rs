//! An ingest's file, chunk by chunk: the reading thread makes each chunk
//! ([`ChunkBuilder`]), the thread that holds the transaction stores it
//! ([`store_chunk`]) while the next is read.
//!
//! A chunk carries its results' keys (a class ordinal and a name), the
//! plain passes as they will be packed, the other results as binary
//! `COPY` rows for the staging table (their texts by hash only), and the
//! distinct texts themselves. The writer looks the chunk's classes up,
//! adds those the store lacks and finds the tests of the others (reading
//! those classes' tests whole when they are not many more than the
//! chunk's, else by key); a test of a class the chunk added is new
//! without a look-up.
//! The new tests go in by binary `COPY`, in key order, under ids drawn
//! from `tests`' sequence (a block reserved in one call when the writer is
//! the only one adding keys); the new texts into `blobs` by binary `COPY`,
//! in hash order (with `ON CONFLICT`, when another writer added one of
//! either meanwhile). Then
//! each result is placed: a plain pass into its run's blob, another result
//! a row moved over from the staging table, a test seen twice (in the
//! chunk, an earlier chunk or an earlier file of the run) merged.
//!
//! Writers add classes, tests and blobs under [`NEW_KEYS_LOCK`].

use std::collections::{HashMap, HashSet};
use std::io::Write;

use hourglass_model::{TestKey, TestResult};
use postgres::Transaction;
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use rustc_hash::FxHashMap;

use super::passes::{self, PassWriter};
use super::{
    BLOB_JOINS, READ_RESULTS, RESULT_COLUMNS, WritePolicy, decode, intern_all, keyed_test,
};
use crate::StoreError;
use crate::blobs::{self, Encoder};
use crate::codec::{attempts_json, json_list};
use crate::packed::{Pass, TestSet};

/// Results a chunk of a file holds at most, and bytes of staged rows: the
/// server stores one chunk while the client reads the next.
pub(super) const CHUNK_RESULTS: usize = 25_000;
pub(super) const CHUNK_BYTES: usize = 16 << 20;

/// The advisory lock under which writers add classes, tests and blobs: a
/// writer that adds keys in one chunk takes it shared, one that may add
/// keys in several (a file of several chunks) exclusive. Each chunk adds
/// its keys in key order, so writers of one chunk wait for each other
/// in one order; a writer of several chunks would break that order (its
/// second chunk's keys may sort before its first's) and is alone instead.
const NEW_KEYS_LOCK: i64 = 0x686f_7572_676c_0003;

/// The staging table: a chunk's results that are not plain passes, their
/// texts by hash (in `blobs` before the rows move).
pub(super) const STAGING: &str = "CREATE TEMPORARY TABLE hourglass_staging (
    seq                   integer NOT NULL,
    status                text NOT NULL,
    duration_s            double precision,
    message_hash          bytea,
    failure_type          text,
    file                  text,
    line                  bigint,
    output_hash           bytea,
    output_dropped_bytes  bigint NOT NULL,
    attempt_count         integer NOT NULL,
    attempts              text,
    properties            text
) ON COMMIT DELETE ROWS";

const STAGING_TYPES: [Type; 12] = [
    Type::INT4,
    Type::TEXT,
    Type::FLOAT8,
    Type::BYTEA,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::BYTEA,
    Type::INT8,
    Type::INT4,
    Type::TEXT,
    Type::TEXT,
];

/// A staged result `s` as [`decode`] reads it, with its texts from
/// `blobs` (`mb`, `ob`).
const READ_STAGING: &str = "s.status, s.duration_s, mb.codec, mb.data, s.failure_type, s.file, \
     s.line, ob.codec, ob.data, s.output_dropped_bytes, s.attempt_count, s.attempts, \
     s.properties";

/// One result of a chunk being read.
struct ReadResult {
    /// Its place in the file.
    seq: i32,
    /// Its class, an index into [`ChunkBuilder::classes`].
    class: u32,
    name: String,
    /// The pass it is, when plain (its test not known yet).
    pass: Option<Pass>,
}

/// One result of a chunk.
pub(super) struct ChunkResult {
    /// Its place in the file.
    seq: i32,
    /// Its test, an index into [`Chunk::keys`].
    key: u32,
    /// The pass it is, when plain (its test not known yet).
    pass: Option<Pass>,
}

/// A chunk of a file, as the writer stores it.
pub(super) struct Chunk {
    /// The distinct classes of the chunk (suite, classname).
    classes: Vec<(String, String)>,
    /// The distinct tests of the chunk, a class (an index into `classes`)
    /// and a name each, sorted: the reading thread sorts them, so that the
    /// writer's thread, which the server waits on, does not.
    keys: Vec<(u32, String)>,
    results: Vec<ChunkResult>,
    /// The results that are not plain passes, as a binary `COPY` payload.
    rows: Option<bytes::Bytes>,
    /// The distinct texts of those results: hash, codec, bytes.
    texts: Vec<(Vec<u8>, i32, Vec<u8>)>,
    /// The file ends with this chunk.
    pub(super) last: bool,
}

/// A chunk being read.
pub(super) struct ChunkBuilder {
    /// Results the chunk holds at most.
    capacity: usize,
    classes: Vec<(String, String)>,
    class_index: HashMap<(String, String), u32>,
    results: Vec<ReadResult>,
    rows: CopyRows,
    texts: Vec<(Vec<u8>, i32, Vec<u8>)>,
    text_seen: HashSet<Vec<u8>>,
}

impl ChunkBuilder {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            classes: Vec::new(),
            class_index: HashMap::new(),
            results: Vec::with_capacity(capacity.min(CHUNK_RESULTS)),
            rows: CopyRows::new(),
            texts: Vec::new(),
            text_seen: HashSet::new(),
        }
    }

    /// Whether the chunk is full.
    pub(super) fn is_full(&self) -> bool {
        self.results.len() >= self.capacity || self.rows.buf.len() >= CHUNK_BYTES
    }

    /// Adds the result at `seq` of the file.
    pub(super) fn push(
        &mut self,
        encoder: &mut Encoder,
        policy: WritePolicy,
        seq: u64,
        result: &TestResult,
    ) -> Result<(), StoreError> {
        let seq = i32::try_from(seq).map_err(|_| StoreError::KeySpace {
            what: "result in one file",
            id: seq as i64,
        })?;
        let class = self.class_of(&result.key);
        let (output, dropped_now) = policy.keep_output.apply(result);
        let dropped = result.output_dropped_bytes + dropped_now;
        let pass = if policy.pack {
            Pass::of(0, result, output, dropped)?
        } else {
            None
        };
        if pass.is_none() {
            let message = self.text(encoder, result.message.as_deref());
            let output = self.text(encoder, output);
            let line = result.line.map(i64::from);
            let attempt_count = result.attempts.len() as i32;
            self.rows.row(
                &STAGING_TYPES,
                &[
                    &seq,
                    &result.outcome.as_str(),
                    &result.duration_s,
                    &message,
                    &result.failure_type,
                    &result.file,
                    &line,
                    &output,
                    &(dropped as i64),
                    &attempt_count,
                    &attempts_json(result)?,
                    &json_list(&result.properties)?,
                ],
            )?;
        }
        self.results.push(ReadResult {
            seq,
            class,
            name: result.key.name.clone(),
            pass,
        });
        Ok(())
    }

    fn class_of(&mut self, key: &TestKey) -> u32 {
        // Files group their tests by class: most results have the class
        // of the one before.
        if let Some(last) = self.results.last() {
            let (suite, classname) = &self.classes[last.class as usize];
            if *suite == key.suite && *classname == key.classname {
                return last.class;
            }
        }
        let next = self.classes.len() as u32;
        let class = *self
            .class_index
            .entry((key.suite.clone(), key.classname.clone()))
            .or_insert(next);
        if class == next {
            self.classes
                .push((key.suite.clone(), key.classname.clone()));
        }
        class
    }

    /// The hash of `text`, kept (once) for `blobs`.
    fn text(&mut self, encoder: &mut Encoder, text: Option<&str>) -> Option<Vec<u8>> {
        let text = text?;
        let hash = blobs::hash(text).to_vec();
        if self.text_seen.insert(hash.clone()) {
            let (codec, data) = encoder.encode(text);
            self.texts
                .push((hash.clone(), codec as i32, data.into_owned()));
        }
        Some(hash)
    }

    pub(super) fn finish(mut self, last: bool) -> Chunk {
        let mut order: Vec<u32> = (0..self.results.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| {
            let (a, b) = (&self.results[a as usize], &self.results[b as usize]);
            (a.class, &a.name).cmp(&(b.class, &b.name))
        });
        let mut keys: Vec<(u32, String)> = Vec::new();
        let mut key_of = vec![0u32; self.results.len()];
        for at in order {
            let result = &mut self.results[at as usize];
            let repeated = keys
                .last()
                .is_some_and(|(class, name)| *class == result.class && *name == result.name);
            if !repeated {
                keys.push((result.class, std::mem::take(&mut result.name)));
            }
            key_of[at as usize] = (keys.len() - 1) as u32;
        }
        let results = self
            .results
            .into_iter()
            .zip(key_of)
            .map(|(result, key)| ChunkResult {
                seq: result.seq,
                key,
                pass: result.pass,
            })
            .collect();
        Chunk {
            classes: self.classes,
            keys,
            results,
            rows: (self.rows.count > 0).then(|| self.rows.finish()),
            texts: self.texts,
            last,
        }
    }
}

/// Binary `COPY` rows being encoded.
struct CopyRows {
    buf: bytes::BytesMut,
    count: usize,
}

impl CopyRows {
    fn new() -> Self {
        let mut buf = bytes::BytesMut::new();
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&[0; 8]);
        Self { buf, count: 0 }
    }

    /// Appends one row of `values` of `types`.
    fn row(&mut self, types: &[Type], values: &[&(dyn ToSql + Sync)]) -> Result<(), StoreError> {
        use bytes::BufMut;
        self.buf.put_i16(values.len() as i16);
        for (value, ty) in values.iter().zip(types) {
            let at = self.buf.len();
            self.buf.put_i32(0);
            let written =
                value
                    .to_sql_checked(ty, &mut self.buf)
                    .map_err(|error| StoreError::Corrupt {
                        what: "staged result",
                        detail: error.to_string(),
                    })?;
            let length = match written {
                postgres::types::IsNull::Yes => {
                    self.buf.truncate(at + 4);
                    -1
                }
                postgres::types::IsNull::No => {
                    i32::try_from(self.buf.len() - at - 4).map_err(|_| StoreError::Corrupt {
                        what: "staged result",
                        detail: "a value of more than 2 GB".into(),
                    })?
                }
            };
            self.buf[at..at + 4].copy_from_slice(&length.to_be_bytes());
        }
        self.count += 1;
        Ok(())
    }

    fn finish(mut self) -> bytes::Bytes {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        self.buf.freeze()
    }
}

/// Which [`NEW_KEYS_LOCK`] a writer holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyLock {
    None,
    Shared,
    Exclusive,
}

/// The statements every chunk runs, prepared once a file (a statement
/// given as text is prepared, then run: two round trips).
#[derive(Default)]
struct Prepared(HashMap<&'static str, postgres::Statement>);

impl Prepared {
    fn get(
        &mut self,
        transaction: &mut Transaction<'_>,
        sql: &'static str,
    ) -> Result<postgres::Statement, StoreError> {
        if let Some(statement) = self.0.get(sql) {
            return Ok(statement.clone());
        }
        let statement = transaction.prepare(sql)?;
        self.0.insert(sql, statement.clone());
        Ok(statement)
    }
}

/// The chunk's classes that are stored, by place in the chunk.
const FIND_CLASSES: &str = "SELECT k.i, c.id \
     FROM unnest($1::text[], $2::text[]) WITH ORDINALITY k (suite, classname, i) \
     JOIN classes c ON c.suite = k.suite COLLATE \"C\" AND c.classname = k.classname COLLATE \"C\"";

/// The tests of the keys `$1`, `$2` that are stored, by place.
const FIND_TESTS: &str = "SELECT k.i, t.id \
     FROM unnest($1::int8[], $2::text[]) WITH ORDINALITY k (class, name, i) \
     JOIN tests t ON t.class = k.class AND t.name = k.name COLLATE \"C\"";

/// The tests of the classes `$1`, `$2` at most: read along the key's index,
/// a class after another, they cost a tenth of a look-up by key each.
const TESTS_OF_CLASSES: &str = "SELECT t.class, t.name, t.id FROM tests t \
     WHERE t.class = ANY($1::int8[]) LIMIT $2::int8";

/// `$1` ids for new tests, drawn one by one: writers under the shared
/// [`NEW_KEYS_LOCK`] draw at once.
const DRAW_TEST_IDS: &str = "SELECT array_agg(nextval( \
     (SELECT pg_get_serial_sequence('tests', 'id'))::regclass)) \
     FROM generate_series(1::int8, $1::int8)";

/// The last of `$1` consecutive ids for new tests, reserved in one call:
/// only under the exclusive [`NEW_KEYS_LOCK`], when no other writer draws
/// ids meanwhile.
const RESERVE_TEST_IDS: &str = "WITH s (name) AS (SELECT pg_get_serial_sequence('tests', 'id')) \
     SELECT setval(s.name, nextval(s.name) + $1::int8 - 1) FROM s";

const FIND_TEXTS: &str = "SELECT hash FROM blobs WHERE hash = ANY($1)";

const ADD_TEXTS: &str = "INSERT INTO blobs (hash, codec, data) \
     SELECT * FROM unnest($1::bytea[], $2::int4[], $3::bytea[]) ORDER BY 1 \
     ON CONFLICT (hash) DO NOTHING";

/// The staged results move into `results` as those of their tests: the
/// test of the result at place `p` is `$3[p - $4 + 1]` (none when 0; no
/// join, whose plan the staging table's missing statistics could make
/// quadratic), in test order (the order of the primary key), their
/// texts' blobs looked up by index.
static MOVE_ROWS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO results (run, test, run_ts, {RESULT_COLUMNS}) \
         SELECT $1, m.test, $2, s.status, s.duration_s, \
         CASE WHEN s.message_hash IS NOT NULL THEN \
             (SELECT b.id FROM blobs b WHERE b.hash = s.message_hash) END, \
         s.failure_type, s.file, s.line, \
         CASE WHEN s.output_hash IS NOT NULL THEN \
             (SELECT b.id FROM blobs b WHERE b.hash = s.output_hash) END, \
         s.output_dropped_bytes, s.attempt_count, s.attempts, s.properties \
         FROM hourglass_staging s \
         CROSS JOIN LATERAL (SELECT ($3::int8[])[s.seq - $4::int4 + 1] AS test) m \
         WHERE m.test <> 0 \
         ORDER BY m.test"
    )
});

/// What the chunks of one file share.
pub(super) struct FileState {
    prepared: Prepared,
    run_row: i64,
    run_ts: i64,
    /// The tests with a result in the run: stored before this file, or by
    /// an earlier chunk of it.
    stored: TestSet,
    writer: PassWriter,
    chunks: u64,
    lock: KeyLock,
}

impl FileState {
    /// `stored` and `blocks`: the run's tests and blocks of passes before
    /// this file.
    pub(super) fn new(run_row: i64, run_ts: i64, stored: TestSet, blocks: HashSet<i64>) -> Self {
        Self {
            run_row,
            run_ts,
            stored,
            prepared: Prepared::default(),
            writer: PassWriter::new(run_row, blocks),
            chunks: 0,
            lock: KeyLock::None,
        }
    }
}

/// Takes [`NEW_KEYS_LOCK`] before the chunk adds keys: shared when the
/// file is one chunk.
fn lock_new_keys(
    transaction: &mut Transaction<'_>,
    file: &mut FileState,
    last: bool,
) -> Result<(), StoreError> {
    if file.lock != KeyLock::None {
        return Ok(());
    }
    if last && file.chunks == 1 {
        transaction.execute("SELECT pg_advisory_xact_lock_shared($1)", &[&NEW_KEYS_LOCK])?;
        file.lock = KeyLock::Shared;
    } else {
        transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&NEW_KEYS_LOCK])?;
        file.lock = KeyLock::Exclusive;
    }
    Ok(())
}

/// Stores one chunk of a file (see the module's documentation).
pub(super) fn store_chunk(
    transaction: &mut Transaction<'_>,
    file: &mut FileState,
    chunk: Chunk,
) -> Result<(), StoreError> {
    file.chunks += 1;
    let classes = add_classes(transaction, file, chunk.last, &chunk.classes)?;
    let tests = add_tests(transaction, file, &chunk, &classes)?;
    add_texts(transaction, file, chunk.last, &chunk.texts)?;
    if file.chunks > 1 {
        transaction.batch_execute("TRUNCATE hourglass_staging")?;
    }
    if let Some(rows) = &chunk.rows {
        copy_rows(
            transaction,
            "COPY hourglass_staging (seq, status, duration_s, message_hash, failure_type, file, \
             line, output_hash, output_dropped_bytes, attempt_count, attempts, properties) \
             FROM STDIN BINARY",
            rows,
        )?;
    }
    place_chunk(transaction, file, chunk.results, &tests)
}

/// Runs the binary `COPY` `sql` with the rows `payload`.
fn copy_rows(
    transaction: &mut Transaction<'_>,
    sql: &str,
    payload: &[u8],
) -> Result<(), StoreError> {
    let mut copy = transaction.copy_in(sql)?;
    copy.write_all(payload).map_err(copy_error)?;
    copy.finish()?;
    Ok(())
}

/// Runs the binary `COPY` `sql` of new keys with the rows `rows` under a
/// savepoint; when another writer added one of them meanwhile, the key
/// breaks, the savepoint is rolled back and the answer is false (nothing
/// copied).
fn copy_new_keys(
    transaction: &mut Transaction<'_>,
    sql: &str,
    rows: CopyRows,
) -> Result<bool, StoreError> {
    let rows = rows.finish();
    let mut savepoint = transaction.savepoint("hourglass_new_keys")?;
    match copy_rows(&mut savepoint, sql, &rows) {
        Ok(()) => {
            savepoint.commit()?;
            Ok(true)
        }
        Err(StoreError::Postgres(error)) if error.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
            savepoint.rollback()?;
            Ok(false)
        }
        Err(error) => Err(error),
    }
}

/// The error of a failed `COPY` write: the driver's, when it is one.
fn copy_error(error: std::io::Error) -> StoreError {
    let detail = error.to_string();
    match error.into_inner().and_then(|inner| inner.downcast().ok()) {
        Some(postgres) => StoreError::Postgres(*postgres),
        _ => StoreError::Corrupt {
            what: "staged results",
            detail,
        },
    }
}

/// The id of each class of the chunk, and whether the chunk added it;
/// the classes the store lacks go in, in key order.
fn add_classes(
    transaction: &mut Transaction<'_>,
    file: &mut FileState,
    last: bool,
    classes: &[(String, String)],
) -> Result<Vec<(i64, bool)>, StoreError> {
    let (suites, names): (Vec<&str>, Vec<&str>) = classes
        .iter()
        .map(|(suite, classname)| (suite.as_str(), classname.as_str()))
        .unzip();
    let find = file.prepared.get(transaction, FIND_CLASSES)?;
    let lookup = |transaction: &mut Transaction<'_>| -> Result<Vec<Option<i64>>, StoreError> {
        let mut ids = vec![None; classes.len()];
        for row in transaction.query(&find, &[&suites, &names])? {
            let at: i64 = row.try_get(0)?;
            ids[at as usize - 1] = Some(row.try_get(1)?);
        }
        Ok(ids)
    };
    let ids = lookup(transaction)?;
    if ids.iter().all(Option::is_some) {
        return Ok(ids.into_iter().flatten().map(|id| (id, false)).collect());
    }
    lock_new_keys(transaction, file, last)?;
    let mut missing: Vec<(&str, &str)> = ids
        .iter()
        .zip(suites.iter().zip(&names))
        .filter(|(id, _)| id.is_none())
        .map(|(_, (suite, name))| (*suite, *name))
        .collect();
    missing.sort_unstable();
    let (new_suites, new_names): (Vec<&str>, Vec<&str>) = missing.into_iter().unzip();
    let mut added = HashSet::new();
    for row in transaction.query(
        "INSERT INTO classes (suite, classname) \
         SELECT * FROM unnest($1::text[], $2::text[]) ORDER BY 1, 2 \
         ON CONFLICT DO NOTHING RETURNING id",
        &[&new_suites, &new_names],
    )? {
        added.insert(row.try_get::<_, i64>(0)?);
    }
    lookup(transaction)?
        .into_iter()
        .map(|id| {
            id.map(|id| (id, added.contains(&id)))
                .ok_or_else(|| StoreError::Corrupt {
                    what: "class",
                    detail: "a class is neither stored nor insertable".into(),
                })
        })
        .collect()
}

/// The test id of each result of the chunk; the tests the store lacks go
/// in by binary `COPY`, in key order, under ids drawn from `tests`'
/// sequence. Only when another writer added one of them meanwhile does
/// the `COPY` break the key: it is then rolled back and the tests go in
/// with `ON CONFLICT DO NOTHING`, then are looked up.
fn add_tests(
    transaction: &mut Transaction<'_>,
    file: &mut FileState,
    chunk: &Chunk,
    classes: &[(i64, bool)],
) -> Result<Vec<i64>, StoreError> {
    let keys = &chunk.keys;
    let class_id = |key: u32| classes[keys[key as usize].0 as usize].0;
    let columns = |keys_at: &[u32]| -> (Vec<i64>, Vec<&str>) {
        keys_at
            .iter()
            .map(|&key| (class_id(key), keys[key as usize].1.as_str()))
            .unzip()
    };
    // The id of each key of the chunk; 0 while not known.
    let mut ids = vec![0i64; keys.len()];
    // The tests of the classes the store had: read with their classes, or
    // looked up by key.
    let probe: Vec<u32> = (0..keys.len() as u32)
        .filter(|&key| !classes[keys[key as usize].0 as usize].1)
        .collect();
    if !probe.is_empty() {
        let (probe_classes, probe_names) = columns(&probe);
        let found = match tests_of_classes(transaction, file, &probe_classes, &probe_names)? {
            Some(found) => found,
            None => find_tests(transaction, file, &probe_classes, &probe_names)?,
        };
        for (&key, id) in probe.iter().zip(found) {
            ids[key as usize] = id;
        }
    }
    // The others, in key order: the keys are sorted by class and name, and
    // a stable sort by the class's id keeps each class's names in order.
    let mut new: Vec<u32> = (0..keys.len() as u32)
        .filter(|&key| ids[key as usize] == 0)
        .collect();
    if !new.is_empty() {
        new.sort_by_key(|&key| class_id(key));
        lock_new_keys(transaction, file, chunk.last)?;
        let drawn = draw_test_ids(transaction, file, new.len())?;
        let mut rows = CopyRows::new();
        for (&key, id) in new.iter().zip(&drawn) {
            let (class, name) = (class_id(key), keys[key as usize].1.as_str());
            rows.row(&[Type::INT8, Type::INT8, Type::TEXT], &[id, &class, &name])?;
        }
        let copied = copy_new_keys(
            transaction,
            "COPY tests (id, class, name) FROM STDIN BINARY",
            rows,
        )?;
        if copied {
            for (&key, id) in new.iter().zip(drawn) {
                ids[key as usize] = id;
            }
        } else {
            let (new_classes, new_names) = columns(&new);
            transaction.execute(
                "INSERT INTO tests (class, name) \
                 SELECT * FROM unnest($1::int8[], $2::text[]) ORDER BY 1, 2 \
                 ON CONFLICT DO NOTHING",
                &[&new_classes, &new_names],
            )?;
            let found = find_tests(transaction, file, &new_classes, &new_names)?;
            for (&key, id) in new.iter().zip(found) {
                ids[key as usize] = id;
            }
        }
    }
    chunk
        .results
        .iter()
        .map(|result| match ids[result.key as usize] {
            0 => Err(StoreError::Corrupt {
                what: "test",
                detail: format!(
                    "{} is neither stored nor insertable",
                    keys[result.key as usize].1
                ),
            }),
            id => Ok(id),
        })
        .collect()
}

/// The id of each test (`classes`, `names`), 0 when it is not stored,
/// looked up by key.
fn find_tests(
    transaction: &mut Transaction<'_>,
    file: &mut FileState,
    classes: &[i64],
    names: &[&str],
) -> Result<Vec<i64>, StoreError> {
    let mut ids = vec![0; names.len()];
    let find = file.prepared.get(transaction, FIND_TESTS)?;
    for row in transaction.query(&find, &[&classes, &names])? {
        let at: i64 = row.try_get(0)?;
        ids[at as usize - 1] = row.try_get(1)?;
    }
    Ok(ids)
}

/// The id of each test (`classes`, `names`), 0 when it is not stored,
/// found by reading every test of those classes; `None` when they hold
/// more than four times as many (a file usually holds its classes'
/// tests, or most of them), and nothing was found.
fn tests_of_classes(
    transaction: &mut Transaction<'_>,
    file: &mut FileState,
    classes: &[i64],
    names: &[&str],
) -> Result<Option<Vec<i64>>, StoreError> {
    let mut distinct = classes.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let limit = (names.len() * 4 + 1024) as i64;
    let read = file.prepared.get(transaction, TESTS_OF_CLASSES)?;
    let rows = transaction.query(&read, &[&distinct, &limit])?;
    if rows.len() as i64 >= limit {
        return Ok(None);
    }
    let wanted: FxHashMap<(i64, &str), usize> = classes
        .iter()
        .zip(names)
        .enumerate()
        .map(|(at, (&class, &name))| ((class, name), at))
        .collect();
    let mut ids = vec![0; names.len()];
    for row in &rows {
        let (class, name): (i64, &str) = (row.try_get(0)?, row.try_get(1)?);
        if let Some(&at) = wanted.get(&(class, name)) {
            ids[at] = row.try_get(2)?;
        }
    }
    Ok(Some(ids))
}

/// `count` ids for new tests, in ascending order: a block reserved in one
/// call under the exclusive lock, else drawn one by one.
fn draw_test_ids(
    transaction: &mut Transaction<'_>,
    file: &mut FileState,
    count: usize,
) -> Result<Vec<i64>, StoreError> {
    let count = count as i64;
    if file.lock == KeyLock::Exclusive {
        let reserve = file.prepared.get(transaction, RESERVE_TEST_IDS)?;
        let last: i64 = transaction.query_one(&reserve, &[&count])?.try_get(0)?;
        return Ok((last - count + 1..=last).collect());
    }
    let draw = file.prepared.get(transaction, DRAW_TEST_IDS)?;
    let mut ids: Vec<i64> = transaction.query_one(&draw, &[&count])?.try_get(0)?;
    ids.sort_unstable();
    Ok(ids)
}

/// Adds the texts of the chunk `blobs` lacks, in hash order: by `COPY`,
/// or with `ON CONFLICT` when another writer added one meanwhile.
fn add_texts(
    transaction: &mut Transaction<'_>,
    file: &mut FileState,
    last: bool,
    texts: &[(Vec<u8>, i32, Vec<u8>)],
) -> Result<(), StoreError> {
    if texts.is_empty() {
        return Ok(());
    }
    let hashes: Vec<&[u8]> = texts.iter().map(|(hash, _, _)| hash.as_slice()).collect();
    let find = file.prepared.get(transaction, FIND_TEXTS)?;
    let stored: HashSet<Vec<u8>> = transaction
        .query(&find, &[&hashes])?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    let mut missing: Vec<&(Vec<u8>, i32, Vec<u8>)> = texts
        .iter()
        .filter(|(hash, _, _)| !stored.contains(hash))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    missing.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    lock_new_keys(transaction, file, last)?;
    let mut rows = CopyRows::new();
    for (hash, codec, data) in &missing {
        rows.row(
            &[Type::BYTEA, Type::INT4, Type::BYTEA],
            &[hash, codec, data],
        )?;
    }
    if copy_new_keys(
        transaction,
        "COPY blobs (hash, codec, data) FROM STDIN BINARY",
        rows,
    )? {
        return Ok(());
    }
    let hashes: Vec<&[u8]> = missing.iter().map(|(hash, _, _)| hash.as_slice()).collect();
    let codecs: Vec<i32> = missing.iter().map(|(_, codec, _)| *codec).collect();
    let datas: Vec<&[u8]> = missing.iter().map(|(_, _, data)| data.as_slice()).collect();
    let add = file.prepared.get(transaction, ADD_TEXTS)?;
    transaction.execute(&add, &[&hashes, &codecs, &datas])?;
    Ok(())
}

/// Places every result of the chunk, by test: a test seen once in the
/// file so far and not stored for the run is a pass of a blob when plain,
/// else a row moved over from the staging table (by its place in the
/// file); the others are merged.
fn place_chunk(
    transaction: &mut Transaction<'_>,
    file: &mut FileState,
    results: Vec<ChunkResult>,
    tests: &[i64],
) -> Result<(), StoreError> {
    let mut keyed: Vec<(i64, i32, Option<Pass>)> = results
        .into_iter()
        .zip(tests)
        .map(|(result, &test)| (test, result.seq, result.pass))
        .collect();
    keyed.sort_unstable_by_key(|(test, seq, _)| (*test, *seq));
    let mut merged: Vec<(i64, i32, Option<Pass>)> = Vec::new();
    // The test of each result that moves over as a row, by place in the
    // chunk (its places are consecutive), else 0.
    let first_seq = keyed.iter().map(|(_, seq, _)| *seq).min().unwrap_or(0);
    let mut moved = vec![0i64; keyed.len()];
    let mut rows = 0usize;
    let mut at = 0;
    while at < keyed.len() {
        let test = keyed[at].0;
        let mut end = at + 1;
        while end < keyed.len() && keyed[end].0 == test {
            end += 1;
        }
        if end - at > 1 || file.stored.contains(test) {
            merged.extend_from_slice(&keyed[at..end]);
        } else if let Some(pass) = keyed[at].2 {
            file.writer.push(Pass { test, ..pass });
            if file.writer.has_ready() {
                file.writer.store_ready(transaction)?;
            }
        } else {
            moved[(keyed[at].1 - first_seq) as usize] = test;
            rows += 1;
        }
        at = end;
    }
    file.writer.finish(transaction)?;
    for (test, _, _) in &keyed {
        file.stored.insert(*test);
    }
    drop(keyed);
    // The other results of the tests seen once.
    if rows > 0 {
        let move_rows = file.prepared.get(transaction, MOVE_ROWS.as_str())?;
        transaction.execute(
            &move_rows,
            &[&file.run_row, &file.run_ts, &moved, &first_seq],
        )?;
    }
    drop(moved);
    if !merged.is_empty() {
        merge(transaction, file, &merged)?;
    }
    Ok(())
}

/// Folds the results `later` (test, place in the file, pass when plain)
/// of the chunk, in file order, into what is stored for their tests in
/// the run, and writes the merged results back as rows.
fn merge(
    transaction: &mut Transaction<'_>,
    file: &FileState,
    later: &[(i64, i32, Option<Pass>)],
) -> Result<(), StoreError> {
    let (run_row, run_ts) = (file.run_row, file.run_ts);
    let mut tests: Vec<i64> = later.iter().map(|(test, _, _)| *test).collect();
    tests.sort_unstable();
    tests.dedup();
    let mut keys: HashMap<i64, TestKey> = HashMap::with_capacity(tests.len());
    for row in transaction.query(
        "SELECT t.id, c.suite, c.classname, t.name FROM tests t \
         JOIN classes c ON c.id = t.class WHERE t.id = ANY($1)",
        &[&tests],
    )? {
        let (id, key) = keyed_test(&row)?;
        keys.insert(id, key);
    }
    let key_of = |test: i64| {
        keys.get(&test).cloned().ok_or_else(|| StoreError::Corrupt {
            what: "test",
            detail: format!("test {test} is not stored"),
        })
    };
    let mut merged: HashMap<i64, TestResult> = HashMap::new();
    for row in transaction.query(
        &format!(
            "SELECT r.test, {READ_RESULTS} FROM results r {BLOB_JOINS} \
             WHERE r.run = $1 AND r.run_ts = $2 AND r.test = ANY($3)"
        ),
        &[&run_row, &run_ts, &tests],
    )? {
        let test: i64 = row.try_get(0)?;
        merged.insert(test, decode(&row, 1, key_of(test)?)?);
    }
    for (test, pass) in passes::take(transaction, run_row, &tests, file.writer.blocks())? {
        merged.insert(test, pass.result(key_of(test)?));
    }
    let staged_seqs: Vec<i32> = later
        .iter()
        .filter(|(_, _, pass)| pass.is_none())
        .map(|(_, seq, _)| *seq)
        .collect();
    let mut staged: HashMap<i32, &postgres::Row> = HashMap::new();
    let rows = if staged_seqs.is_empty() {
        Vec::new()
    } else {
        transaction.query(
            &format!(
                "SELECT s.seq, {READ_STAGING} FROM hourglass_staging s \
                 LEFT JOIN blobs mb ON mb.hash = s.message_hash \
                 LEFT JOIN blobs ob ON ob.hash = s.output_hash \
                 WHERE s.seq = ANY($1)"
            ),
            &[&staged_seqs],
        )?
    };
    for row in &rows {
        staged.insert(row.try_get(0)?, row);
    }
    let mut in_order: Vec<&(i64, i32, Option<Pass>)> = later.iter().collect();
    in_order.sort_unstable_by_key(|(_, seq, _)| *seq);
    for &&(test, seq, pass) in &in_order {
        let key = key_of(test)?;
        let result = if let Some(pass) = pass {
            pass.result(key)
        } else {
            let row = staged.get(&seq).ok_or_else(|| StoreError::Corrupt {
                what: "staged result",
                detail: format!("result {seq} is not staged"),
            })?;
            decode(row, 1, key)?
        };
        match merged.entry(test) {
            std::collections::hash_map::Entry::Occupied(mut earlier) => {
                earlier.get_mut().absorb_rerun(result);
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(result);
            }
        }
    }
    drop(staged);
    drop(rows);
    transaction.execute(
        "DELETE FROM results WHERE run = $1 AND run_ts = $2 AND test = ANY($3)",
        &[&run_row, &run_ts, &tests],
    )?;
    let insert = transaction.prepare(&format!(
        "INSERT INTO results (run, test, run_ts, {RESULT_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))?;
    let ids = intern_all(transaction, merged.values())?;
    let id_of = |text: Option<&str>| text.and_then(|text| ids.get(&blobs::hash(text)[..]).copied());
    for (test, result) in &merged {
        let message = id_of(result.message.as_deref());
        let output = id_of(result.output.as_deref());
        transaction.execute(
            &insert,
            &[
                &run_row,
                test,
                &run_ts,
                &result.outcome.as_str(),
                &result.duration_s,
                &message,
                &result.failure_type,
                &result.file,
                &result.line.map(i64::from),
                &output,
                &(result.output_dropped_bytes as i64),
                &(result.attempts.len() as i32),
                &attempts_json(result)?,
                &json_list(&result.properties)?,
            ],
        )?;
    }
    Ok(())
}
