-- Background jobs (bulk member imports larger than one answer can carry). A job keeps its
-- input rows; each row's outcome is written in the same transaction as what the row made, so
-- a worker that stops half-way (a restart, a crash) resumes after the last committed row and
-- nobody is invited or welcomed twice. Workers lease a job (`locked_until`) while they run it.

CREATE TABLE jobs (
    id            BLOB PRIMARY KEY NOT NULL,
    tenant_id     BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('preview', 'queued', 'running', 'done', 'failed')),
    options       TEXT NOT NULL DEFAULT '{}',
    total         INTEGER NOT NULL DEFAULT 0,
    processed     INTEGER NOT NULL DEFAULT 0,
    succeeded     INTEGER NOT NULL DEFAULT 0,
    failed        INTEGER NOT NULL DEFAULT 0,
    error         TEXT,
    created_by    BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    finished_at   TEXT,
    locked_until  TEXT
);
CREATE INDEX jobs_tenant_created ON jobs (tenant_id, created_at DESC);
CREATE INDEX jobs_due ON jobs (status, locked_until);

CREATE TABLE job_rows (
    job_id      BLOB NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    tenant_id   BLOB NOT NULL,
    row_number  INTEGER NOT NULL,
    input       TEXT NOT NULL,
    email       TEXT,
    status      TEXT,
    planned     TEXT,
    errors      TEXT,
    PRIMARY KEY (job_id, row_number)
);
