-- Custom roles per tenant. A role's grants are `resource:action` permissions or wildcards
-- (`members:*`, `*`), kept space-separated so that the caller's grants over all the roles it
-- holds come back from one aggregate on the hot path. Assignments and invitations name a role
-- by its stored name (built-in or custom), so their CHECK on the three built-in names goes:
-- SQLite can only drop a CHECK by rebuilding the table.

CREATE TABLE roles (
    id           BLOB PRIMARY KEY NOT NULL,
    tenant_id    BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    permissions  TEXT NOT NULL DEFAULT '',
    created_by   BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
-- Names are unique per tenant case-insensitively (they are ASCII: letters, digits, _ and -).
CREATE UNIQUE INDEX roles_tenant_name ON roles (tenant_id, lower(name));
-- The caller's grants join assignments to roles by the exact stored name.
CREATE INDEX roles_tenant_exact_name ON roles (tenant_id, name);

CREATE TABLE user_roles_new (
    id           BLOB PRIMARY KEY NOT NULL,
    tenant_id    BLOB NOT NULL,
    user_id      BLOB NOT NULL,
    role         TEXT NOT NULL,
    assigned_by  BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (tenant_id, user_id, role),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
INSERT INTO user_roles_new (id, tenant_id, user_id, role, assigned_by, created_at)
    SELECT id, tenant_id, user_id, role, assigned_by, created_at FROM user_roles;
DROP TABLE user_roles;
ALTER TABLE user_roles_new RENAME TO user_roles;
CREATE INDEX user_roles_user ON user_roles (user_id);
CREATE INDEX user_roles_tenant_role ON user_roles (tenant_id, role);

CREATE TABLE invitations_new (
    id               BLOB PRIMARY KEY NOT NULL,
    tenant_id        BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email            TEXT NOT NULL,
    role             TEXT,
    token_hash       TEXT NOT NULL UNIQUE,
    invited_by       BLOB REFERENCES users (id) ON DELETE SET NULL,
    expires_at       TEXT NOT NULL,
    accepted_at      TEXT,
    accepted_by      BLOB REFERENCES users (id) ON DELETE SET NULL,
    revoked_at       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    failed_attempts  INTEGER NOT NULL DEFAULT 0
);
INSERT INTO invitations_new (id, tenant_id, email, role, token_hash, invited_by, expires_at, accepted_at, accepted_by,
                             revoked_at, created_at, updated_at, failed_attempts)
    SELECT id, tenant_id, email, role, token_hash, invited_by, expires_at, accepted_at, accepted_by,
           revoked_at, created_at, updated_at, failed_attempts FROM invitations;
DROP TABLE invitations;
ALTER TABLE invitations_new RENAME TO invitations;
CREATE INDEX invitations_tenant_email ON invitations (tenant_id, email);
CREATE INDEX invitations_tenant_created ON invitations (tenant_id, created_at DESC);
CREATE INDEX invitations_tenant_role ON invitations (tenant_id, role);
