//! Plain passes in SQLite: one blob per run and block of test ids (the
//! codec is [`crate::packed`]), keyed `run << 32 | block` in `passes`.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use crate::StoreError;
pub(crate) use crate::packed::{BLOCK, Pass, TestSet, block_of, decode, decode_each, encode};

/// Passes buffered by a writer before they go to their blobs.
const FLUSH_AT: usize = 1 << 16;

/// The key of a run's blob for a block.
pub(crate) fn blob_key(run: i64, block: i64) -> i64 {
    run << 32 | block
}

/// Calls `each` with every pass of one run (block by block, in test order);
/// `None` (a schema without `passes`) has none.
pub(crate) fn for_each_of_run(
    connection: &Connection,
    run: Option<i64>,
    mut each: impl FnMut(Pass) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let Some(run) = run else {
        return Ok(());
    };
    for_each_between(
        connection,
        blob_key(run, 0),
        blob_key(run, 0xFFFF_FFFF),
        &mut each,
    )
}

/// Calls `each` with every stored pass, run by run; `false` (a schema
/// without `passes`) has none.
pub(crate) fn for_each(
    connection: &Connection,
    packed: bool,
    mut each: impl FnMut(Pass) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    if !packed {
        return Ok(());
    }
    for_each_between(connection, 0, i64::MAX, &mut each)
}

/// The passes of the blobs whose keys lie between `first` and `last`.
fn for_each_between(
    connection: &Connection,
    first: i64,
    last: i64,
    each: &mut impl FnMut(Pass) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut statement =
        connection.prepare_cached("SELECT id, data FROM passes WHERE id BETWEEN ?1 AND ?2")?;
    let mut rows = statement.query(params![first, last])?;
    while let Some(row) = rows.next()? {
        let key: i64 = row.get(0)?;
        let block = key & 0xFFFF_FFFF;
        let data = row
            .get_ref(1)?
            .as_blob()
            .map_err(|error| StoreError::Corrupt {
                what: "packed passes",
                detail: format!("block {block}: {error}"),
            })?;
        decode_each(block, data, &mut *each)?;
    }
    Ok(())
}

/// One run's passes of one block.
pub(crate) fn of_block(
    connection: &Connection,
    run: i64,
    block: i64,
) -> Result<Vec<Pass>, StoreError> {
    let data: Option<Vec<u8>> = connection
        .prepare_cached("SELECT data FROM passes WHERE id = ?1")?
        .query_row(params![blob_key(run, block)], |row| row.get(0))
        .optional()?;
    match data {
        Some(data) => decode(block, &data),
        None => Ok(Vec::new()),
    }
}

/// Replaces one run's passes of one block (none: the blob goes).
fn store_block(
    connection: &Connection,
    run: i64,
    block: i64,
    passes: &[Pass],
) -> Result<(), StoreError> {
    let key = blob_key(run, block);
    if passes.is_empty() {
        connection
            .prepare_cached("DELETE FROM passes WHERE id = ?1")?
            .execute(params![key])?;
    } else {
        connection
            .prepare_cached("INSERT OR REPLACE INTO passes (id, data) VALUES (?1, ?2)")?
            .execute(params![key, encode(block, passes)])?;
    }
    Ok(())
}

/// The plain passes a writer has not stored yet, by block.
#[derive(Default)]
pub(crate) struct PassBuffer {
    pending: HashMap<i64, Vec<Pass>>,
    count: usize,
}

impl PassBuffer {
    /// Buffers a pass of a test with no other result in the run; stores
    /// the buffer when it is full.
    pub(crate) fn push(
        &mut self,
        connection: &Connection,
        run: i64,
        pass: Pass,
    ) -> Result<(), StoreError> {
        self.pending
            .entry(block_of(pass.test))
            .or_default()
            .push(pass);
        self.count += 1;
        if self.count >= FLUSH_AT {
            self.flush(connection, run)?;
        }
        Ok(())
    }

    /// Takes the run's pass of `test` out of the buffer or out of its
    /// stored blob, if it has one.
    pub(crate) fn take(
        &mut self,
        connection: &Connection,
        run: i64,
        test: i64,
    ) -> Result<Option<Pass>, StoreError> {
        let block = block_of(test);
        if let Some(pending) = self.pending.get_mut(&block)
            && let Some(at) = pending.iter().position(|pass| pass.test == test)
        {
            self.count -= 1;
            return Ok(Some(pending.swap_remove(at)));
        }
        let mut stored = of_block(connection, run, block)?;
        let Some(at) = stored.iter().position(|pass| pass.test == test) else {
            return Ok(None);
        };
        let pass = stored.remove(at);
        store_block(connection, run, block, &stored)?;
        Ok(Some(pass))
    }

    /// Stores the buffered passes: each block's into its blob, merged with
    /// what an earlier flush or file of the run stored there.
    pub(crate) fn flush(&mut self, connection: &Connection, run: i64) -> Result<(), StoreError> {
        let mut blocks: Vec<(i64, Vec<Pass>)> = self.pending.drain().collect();
        blocks.sort_unstable_by_key(|(block, _)| *block);
        for (block, mut passes) in blocks {
            if passes.is_empty() {
                continue;
            }
            passes.extend(of_block(connection, run, block)?);
            passes.sort_unstable_by_key(|pass| pass.test);
            store_block(connection, run, block, &passes)?;
        }
        self.count = 0;
        Ok(())
    }
}

impl TestSet {
    /// The tests with a result in `run` as stored.
    pub(crate) fn of_run(
        connection: &Connection,
        run: i64,
        packed: bool,
    ) -> Result<Self, StoreError> {
        let mut set = Self::default();
        let (first, last) = super::run_keys(run);
        let mut statement =
            connection.prepare_cached("SELECT test FROM results WHERE id BETWEEN ?1 AND ?2")?;
        let mut rows = statement.query(params![first, last])?;
        while let Some(row) = rows.next()? {
            set.insert(row.get(0)?);
        }
        for_each_of_run(connection, packed.then_some(run), |pass| {
            set.insert(pass.test);
            Ok(())
        })?;
        Ok(set)
    }
}

/// The tests any stored pass is of.
pub(crate) fn tests_of_all(connection: &Connection, packed: bool) -> Result<TestSet, StoreError> {
    let mut set = TestSet::default();
    for_each(connection, packed, |pass| {
        set.insert(pass.test);
        Ok(())
    })?;
    Ok(set)
}
