-- Browser sessions (issue 16): the table tower-sessions' SQLite store used to create at start,
-- now owned by the migrations and read and written through the store layer like every other
-- table (so its writes queue on the write gate too). The same definition as before, so an
-- existing installation keeps its sessions; expiry_date becomes what its type says, seconds
-- since the epoch, instead of the RFC 3339 text the old store wrote into it.
CREATE TABLE IF NOT EXISTS sessions (
    id           TEXT PRIMARY KEY NOT NULL,
    data         BLOB NOT NULL,
    expiry_date  INTEGER NOT NULL
);
-- A value that does not parse becomes 0: an expired session, deleted at once.
UPDATE sessions SET expiry_date = COALESCE(unixepoch(expiry_date), 0) WHERE typeof(expiry_date) <> 'integer';
DELETE FROM sessions WHERE expiry_date = 0;
CREATE INDEX IF NOT EXISTS sessions_expiry_date ON sessions (expiry_date);
