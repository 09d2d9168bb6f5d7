-- Browser sessions (issue 16): the table tower-sessions' PostgreSQL store used to create at
-- start, now owned by the migrations and read and written through the store layer like every
-- other table (inside transactions, so it works through a transaction-pooling PgBouncer). The
-- same definition as before, so an existing installation keeps its sessions.
CREATE TABLE IF NOT EXISTS sessions (
    id           TEXT PRIMARY KEY NOT NULL,
    data         BYTEA NOT NULL,
    expiry_date  TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expiry_date ON sessions (expiry_date);
