-- API keys: a tenant's machine credentials. Only the SHA-256 of a key and a short display
-- prefix are stored; the key itself is shown once. A key acts in its tenant with exactly its
-- scopes (grants, space-separated as for roles) and answers to the person who made it.

CREATE TABLE api_keys (
    id            BLOB PRIMARY KEY NOT NULL,
    tenant_id     BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    key_hash      TEXT NOT NULL UNIQUE,
    scopes        TEXT NOT NULL DEFAULT '',
    created_by    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    revoked_at    TEXT,
    last_used_at  TEXT,
    last_used_ip  TEXT
);
CREATE INDEX api_keys_tenant_created ON api_keys (tenant_id, created_at);
