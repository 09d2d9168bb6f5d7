-- Bulk tenant runs of the platform page (service::bulk_runs): an uploaded CSV, its dry-run
-- preview, then the run's progress and outcome, so any replica can show them. Platform-level:
-- no tenant owns a run.
CREATE TABLE bulk_runs (
    id          UUID PRIMARY KEY,
    created_by  UUID REFERENCES users (id) ON DELETE SET NULL,
    file_name   TEXT NOT NULL,
    csv         TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('preview', 'running', 'done')),
    total       BIGINT NOT NULL,
    processed   BIGINT NOT NULL DEFAULT 0,
    preview     TEXT NOT NULL,
    results     TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX bulk_runs_created ON bulk_runs (created_at DESC);
