//! Plain passes in PostgreSQL (schema version 6): one `passes` row per run
//! and block of [`BLOCK`] test ids, its `data` the blob of
//! [`crate::packed`] (the codec SQLite's `passes` use), decoded here.
//!
//! An ingest writes a run's blobs as its passes arrive in test order, one
//! block at a time: a block the run does not have yet goes in by binary
//! `COPY`, one it has (an earlier file of the run) is read, merged and
//! written back. Readers fetch the blobs of the runs (and blocks) they
//! need and decode them in Rust.

use std::collections::{HashMap, HashSet};

use postgres::ToStatement;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{ToSql, Type};
use postgres::{GenericClient, Transaction};

use crate::StoreError;
use crate::packed::{self, BLOCK, Pass, TestSet, block_of};

/// Blocks a writer holds, encoded, before it stores them.
const READY_BLOCKS: usize = 64;

/// Calls `each` with the run and every pass of the blobs `sql` selects
/// (`run, block, data`), blob by blob, each in test order.
pub(super) fn for_each<T: ?Sized + ToStatement>(
    client: &mut impl GenericClient,
    sql: &T,
    params: &[&(dyn ToSql + Sync)],
    mut each: impl FnMut(i64, Pass) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut rows = client.query_raw(sql, params.iter().copied())?;
    while let Some(row) = rows.next()? {
        let run: i64 = row.try_get(0)?;
        let block: i64 = row.try_get(1)?;
        let data: &[u8] = row.try_get(2)?;
        packed::decode_each(block, data, |pass| each(run, pass))?;
    }
    Ok(())
}

/// One run's passes of one block, in test order.
fn of_block(
    transaction: &mut Transaction<'_>,
    run: i64,
    block: i64,
) -> Result<Vec<Pass>, StoreError> {
    let row = transaction.query_opt(
        "SELECT data FROM passes WHERE run = $1 AND block = $2",
        &[&run, &block],
    )?;
    match row {
        Some(row) => packed::decode(block, row.try_get(0)?),
        None => Ok(Vec::new()),
    }
}

/// Replaces one run's passes of one block (none: the blob goes).
fn store_block(
    transaction: &mut Transaction<'_>,
    run: i64,
    block: i64,
    passes: &[Pass],
) -> Result<(), StoreError> {
    if passes.is_empty() {
        transaction.execute(
            "DELETE FROM passes WHERE run = $1 AND block = $2",
            &[&run, &block],
        )?;
    } else {
        transaction.execute(
            "INSERT INTO passes (run, block, data) VALUES ($1, $2, $3) \
             ON CONFLICT (run, block) DO UPDATE SET data = excluded.data",
            &[&run, &block, &packed::encode(block, passes)],
        )?;
    }
    Ok(())
}

/// The tests with a result in `run` as stored (rows, and passes when the
/// schema has them), and the blocks it has blobs of.
pub(super) fn stored_of_run(
    transaction: &mut Transaction<'_>,
    run: i64,
    run_ts: i64,
    packed: bool,
) -> Result<(TestSet, HashSet<i64>), StoreError> {
    let mut tests = TestSet::default();
    let mut blocks = HashSet::new();
    let params: [&(dyn ToSql + Sync); 2] = [&run, &run_ts];
    let mut rows = transaction.query_raw(
        "SELECT test FROM results WHERE run = $1 AND run_ts = $2",
        params,
    )?;
    while let Some(row) = rows.next()? {
        tests.insert(row.try_get(0)?);
    }
    drop(rows);
    if !packed {
        return Ok((tests, blocks));
    }
    for_each(
        transaction,
        "SELECT run, block, data FROM passes WHERE run = $1",
        &[&run],
        |_, pass| {
            blocks.insert(block_of(pass.test));
            tests.insert(pass.test);
            Ok(())
        },
    )?;
    Ok((tests, blocks))
}

/// Takes the run's passes of `tests` out of their blobs.
pub(super) fn take(
    transaction: &mut Transaction<'_>,
    run: i64,
    tests: &[i64],
    blocks: &HashSet<i64>,
) -> Result<HashMap<i64, Pass>, StoreError> {
    let mut by_block: HashMap<i64, Vec<i64>> = HashMap::new();
    for &test in tests {
        if blocks.contains(&block_of(test)) {
            by_block.entry(block_of(test)).or_default().push(test);
        }
    }
    let mut taken = HashMap::new();
    let mut order: Vec<_> = by_block.into_iter().collect();
    order.sort_unstable_by_key(|(block, _)| *block);
    for (block, tests) in order {
        let mut passes = of_block(transaction, run, block)?;
        let before = passes.len();
        passes.retain(|pass| {
            if tests.contains(&pass.test) {
                taken.insert(pass.test, *pass);
                false
            } else {
                true
            }
        });
        if passes.len() != before {
            store_block(transaction, run, block, &passes)?;
        }
    }
    Ok(taken)
}

/// Stores one run's new passes, given in test order, block by block.
pub(super) struct PassWriter {
    run: i64,
    /// Blocks the run had blobs of before this writer.
    existing: HashSet<i64>,
    block: i64,
    pending: Vec<Pass>,
    /// Finished blocks not stored yet.
    ready: Vec<(i64, Vec<Pass>)>,
}

impl PassWriter {
    pub(super) fn new(run: i64, existing: HashSet<i64>) -> Self {
        Self {
            run,
            existing,
            block: -1,
            pending: Vec::with_capacity(BLOCK as usize),
            ready: Vec::new(),
        }
    }

    /// Adds the next pass (of a later test than the one before, until
    /// [`PassWriter::finish`]; a block stored already is merged).
    pub(super) fn push(&mut self, pass: Pass) {
        let block = block_of(pass.test);
        if block != self.block {
            self.finish_block();
            self.block = block;
        }
        self.pending.push(pass);
    }

    fn finish_block(&mut self) {
        if !self.pending.is_empty() {
            let passes = std::mem::replace(&mut self.pending, Vec::with_capacity(BLOCK as usize));
            self.ready.push((self.block, passes));
        }
    }

    /// Whether enough blocks are ready to be worth storing now.
    pub(super) fn has_ready(&self) -> bool {
        self.ready.len() >= READY_BLOCKS
    }

    /// Stores the finished blocks: new ones in one `COPY`, the others merged
    /// with what the run has stored in them.
    pub(super) fn store_ready(
        &mut self,
        transaction: &mut Transaction<'_>,
    ) -> Result<(), StoreError> {
        if self.ready.is_empty() {
            return Ok(());
        }
        let ready = std::mem::take(&mut self.ready);
        let (merged, new): (Vec<_>, Vec<_>) = ready
            .into_iter()
            .partition(|(block, _)| self.existing.contains(block));
        for (block, mut passes) in merged {
            passes.extend(of_block(transaction, self.run, block)?);
            passes.sort_unstable_by_key(|pass| pass.test);
            store_block(transaction, self.run, block, &passes)?;
        }
        if !new.is_empty() {
            let copy = transaction.copy_in("COPY passes (run, block, data) FROM STDIN BINARY")?;
            let mut writer = BinaryCopyInWriter::new(copy, &[Type::INT8, Type::INT8, Type::BYTEA]);
            for (block, passes) in &new {
                let data = packed::encode(*block, passes);
                writer.write(&[&self.run, block, &data])?;
            }
            writer.finish()?;
            self.existing.extend(new.iter().map(|(block, _)| *block));
        }
        Ok(())
    }

    /// The blocks the run has blobs of: before this writer, and those it
    /// stored.
    pub(super) fn blocks(&self) -> &HashSet<i64> {
        &self.existing
    }

    /// Stores everything still held.
    pub(super) fn finish(&mut self, transaction: &mut Transaction<'_>) -> Result<(), StoreError> {
        self.finish_block();
        self.store_ready(transaction)
    }
}

/// Decodes the passes of `run` into `hourglass_export_passes`, a few
/// blobs at a time.
pub(super) fn decode_run(transaction: &mut Transaction<'_>, run: i64) -> Result<(), StoreError> {
    const BLOBS: i32 = 64;
    let portal = transaction.bind("SELECT block, data FROM passes WHERE run = $1", &[&run])?;
    loop {
        let rows = transaction.query_portal(&portal, BLOBS)?;
        if !rows.is_empty() {
            let copy = transaction.copy_in(
                "COPY hourglass_export_passes (test, duration_s, dropped, implied) \
                 FROM STDIN BINARY",
            )?;
            let mut writer =
                BinaryCopyInWriter::new(copy, &[Type::INT8, Type::FLOAT8, Type::INT8, Type::BOOL]);
            for row in &rows {
                let block: i64 = row.try_get(0)?;
                let data: &[u8] = row.try_get(1)?;
                packed::decode_each(block, data, |pass| {
                    writer.write(&[
                        &pass.test,
                        &pass.duration_s,
                        &(pass.dropped as i64),
                        &pass.implied,
                    ])?;
                    Ok(())
                })?;
            }
            writer.finish()?;
        }
        if rows.len() < BLOBS as usize {
            return Ok(());
        }
    }
}

/// Every test a stored pass is of.
pub(super) fn tests_of_all(client: &mut impl GenericClient) -> Result<TestSet, StoreError> {
    let mut tests = TestSet::default();
    for_each(
        client,
        "SELECT run, block, data FROM passes",
        &[],
        |_, pass| {
            tests.insert(pass.test);
            Ok(())
        },
    )?;
    Ok(tests)
}

/// How many passes are stored.
pub(super) fn count(client: &mut impl GenericClient) -> Result<u64, StoreError> {
    let mut count = 0;
    for_each(
        client,
        "SELECT run, block, data FROM passes",
        &[],
        |_, _| {
            count += 1;
            Ok(())
        },
    )?;
    Ok(count)
}
