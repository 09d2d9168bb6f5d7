-- Tenants, accounts, memberships, roles, refresh tokens and the audit trail.
-- Ids are UUIDs (16-byte blobs), times RFC 3339 text in UTC (sqlx's chrono encoding).

CREATE TABLE tenants (
    id          BLOB PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    slug        TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL DEFAULT 'active',
    plan        TEXT NOT NULL DEFAULT 'free',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX tenants_name_ci ON tenants (lower(name));

CREATE TABLE users (
    id             BLOB PRIMARY KEY NOT NULL,
    email          TEXT NOT NULL UNIQUE,   -- stored lower-cased: unique case-insensitively
    password_hash  TEXT NOT NULL,
    first_name     TEXT NOT NULL DEFAULT '',
    last_name      TEXT NOT NULL DEFAULT '',
    is_superuser   BOOLEAN NOT NULL DEFAULT 0,
    is_active      BOOLEAN NOT NULL DEFAULT 1,
    timezone       TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE memberships (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE user_roles (
    id           BLOB PRIMARY KEY NOT NULL,
    tenant_id    BLOB NOT NULL,
    user_id      BLOB NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('ADMIN', 'ANALYST', 'VIEWER')),
    assigned_by  BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (tenant_id, user_id, role),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX user_roles_user ON user_roles (user_id);

CREATE TABLE refresh_tokens (
    jti         BLOB PRIMARY KEY NOT NULL,
    family_id   BLOB NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id   BLOB,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    revoked_at  TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE audit_log (
    id             BLOB PRIMARY KEY NOT NULL,
    tenant_id      BLOB,
    actor_id       BLOB,
    actor_email    TEXT,
    action         TEXT NOT NULL,
    resource_type  TEXT NOT NULL,
    resource_id    TEXT,
    metadata       TEXT NOT NULL DEFAULT '{}',
    ip_address     TEXT,
    user_agent     TEXT,
    created_at     TEXT NOT NULL
);
CREATE INDEX audit_log_tenant_time ON audit_log (tenant_id, created_at DESC);
