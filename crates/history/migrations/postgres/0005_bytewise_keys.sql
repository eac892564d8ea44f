-- hourglass history, PostgreSQL schema version 5: what an ingest pays per
-- new test, cut (the SQLite schema has no version of its own for it).
--
-- `tests.class` no longer has a foreign key to `classes`: the store writes
-- a test only after its class, in the same transaction, and `prune` drops a
-- class only when no test refers to it, under its table locks, so the
-- per-row check bought nothing. (`results` has had no foreign keys since
-- version 1.)
ALTER TABLE tests DROP CONSTRAINT tests_class_fkey;

-- The texts that identify a test compare byte by byte (the "C" collation),
-- whatever the database's locale: every insert into the unique indexes on
-- them, and every sort of them, is a memcmp instead of a locale-aware
-- comparison (`strcoll` or ICU), several times slower. Equality is the same
-- under any deterministic collation, and the store's outputs were already
-- ordered with "C" (the byte order of the SQLite store), so nothing read
-- changes. The tables are not rewritten; their indexes on these columns
-- are rebuilt.
ALTER TABLE classes
    ALTER COLUMN suite TYPE text COLLATE "C",
    ALTER COLUMN classname TYPE text COLLATE "C";
ALTER TABLE tests ALTER COLUMN name TYPE text COLLATE "C";
