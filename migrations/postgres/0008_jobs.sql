-- Background jobs (bulk member imports larger than one answer can carry). A job keeps its
-- input rows; each row's outcome is written in the same transaction as what the row made, so
-- a worker that stops half-way (a restart, a crash) resumes after the last committed row and
-- nobody is invited or welcomed twice. Workers lease a job (`locked_until`) while they run it.

CREATE TABLE jobs (
    id            UUID PRIMARY KEY,
    tenant_id     UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('preview', 'queued', 'running', 'done', 'failed')),
    options       TEXT NOT NULL DEFAULT '{}',
    total         BIGINT NOT NULL DEFAULT 0,
    processed     BIGINT NOT NULL DEFAULT 0,
    succeeded     BIGINT NOT NULL DEFAULT 0,
    failed        BIGINT NOT NULL DEFAULT 0,
    error         TEXT,
    created_by    UUID REFERENCES users (id) ON DELETE SET NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    locked_until  TIMESTAMPTZ
);
CREATE INDEX jobs_tenant_created ON jobs (tenant_id, created_at DESC);
CREATE INDEX jobs_due ON jobs (status, locked_until);

CREATE TABLE job_rows (
    job_id      UUID NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    tenant_id   UUID NOT NULL,
    row_number  BIGINT NOT NULL,
    input       TEXT NOT NULL,
    email       TEXT,
    status      TEXT,
    planned     TEXT,
    errors      TEXT,
    PRIMARY KEY (job_id, row_number)
);
