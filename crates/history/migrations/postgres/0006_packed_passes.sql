-- hourglass history, PostgreSQL schema version 6: the SQLite schema at its
-- version 7. Plain passes (passed, with nothing to keep but a duration:
-- most results) are no longer rows of `results` but entries of a blob, one
-- per run and block of 1,024 test ids, in test order, about 3 bytes each
-- instead of about 190 for a row and its two index entries (the blob's
-- layout is that of SQLite's `passes`: see crates/history/src/packed.rs).
-- The rows written before stay rows; readers read both.
--
-- A blob of 1,024 entries is ~3.5 KB: `toast_tuple_target` keeps blobs of
-- up to a page inline and uncompressed (varints do not compress, and the
-- default target of 2 KB would try, then move most blobs to the TOAST
-- table). The primary key serves both the reads of one run (export, run
-- counts, prune) and those of a block of tests over many runs.
CREATE TABLE passes (
    run    bigint NOT NULL,
    block  bigint NOT NULL,
    data   bytea NOT NULL,
    PRIMARY KEY (run, block)
) WITH (toast_tuple_target = 8160);

-- A window's results are read block of test ids by block, as SQLite reads
-- them: the rows of a block are found through the primary key (run, test,
-- run_ts), one range for each run of the window. The (test, run_ts, run)
-- index, which served the reads of one test over time, is no longer read,
-- and cost each result row a second index entry (a third of its bytes
-- with the rows that remain) and each ingest its upkeep.
DROP INDEX results_by_test_time;
