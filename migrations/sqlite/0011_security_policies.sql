-- Per-tenant security policies (service::security_policy). A tenant without a row has the
-- defaults, which are the behaviour from before policies existed.
CREATE TABLE tenant_security_policies (
    tenant_id   BLOB PRIMARY KEY NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    policy      TEXT NOT NULL,          -- JSON, checked by domain::SecurityPolicy when saved
    updated_at  TEXT NOT NULL
);

-- The last password hashes of an account (never plaintext), as many as the strictest
-- `password_history` of its tenants asks for. Account-level: it belongs to a person.
CREATE TABLE password_history (
    id             BLOB PRIMARY KEY NOT NULL,
    user_id        BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    password_hash  TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX password_history_by_user ON password_history (user_id, created_at);
