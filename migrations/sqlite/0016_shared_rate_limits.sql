-- Rate limits shared by every replica on one PostgreSQL (issue 16): one row per bucket, key
-- and window of the sliding-window counter in service::limits. Rows older than two windows
-- are deleted by the worker's tidy pass. SQLite keeps its limits in process (one process owns
-- the file), so there this table stays empty; it exists so both schemas agree.
CREATE TABLE rate_limit_hits (
    bucket        TEXT NOT NULL,
    key           TEXT NOT NULL,
    window_start  TEXT NOT NULL,
    hits          INTEGER NOT NULL,
    PRIMARY KEY (bucket, key, window_start)
);
CREATE INDEX rate_limit_hits_window ON rate_limit_hits (window_start);
