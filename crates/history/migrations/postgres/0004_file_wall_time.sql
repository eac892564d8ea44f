-- hourglass history, PostgreSQL schema version 4: when each file's suites
-- ran, as the SQLite schema's version 6: the earliest suite start and the
-- latest suite end (Unix ms) and the file's own wall time (ms); NULL = not
-- said.
ALTER TABLE files
    ADD COLUMN wall_start_ts bigint,
    ADD COLUMN wall_end_ts bigint,
    ADD COLUMN wall_ms bigint;
