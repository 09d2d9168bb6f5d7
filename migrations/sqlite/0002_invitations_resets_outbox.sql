-- Invitations, password reset tokens, the e-mail outbox, and a per-account credentials
-- version that invalidates sessions and tokens when a password is reset.

ALTER TABLE users ADD COLUMN auth_version INTEGER NOT NULL DEFAULT 0;

CREATE TABLE invitations (
    id           BLOB PRIMARY KEY NOT NULL,
    tenant_id    BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    role         TEXT CHECK (role IN ('ADMIN', 'ANALYST', 'VIEWER')),
    token_hash   TEXT NOT NULL UNIQUE,     -- SHA-256 of the token; the token itself is never stored
    invited_by   BLOB REFERENCES users (id) ON DELETE SET NULL,
    expires_at   TEXT NOT NULL,
    accepted_at  TEXT,
    accepted_by  BLOB REFERENCES users (id) ON DELETE SET NULL,
    revoked_at   TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX invitations_tenant_email ON invitations (tenant_id, email);
CREATE INDEX invitations_tenant_created ON invitations (tenant_id, created_at DESC);

CREATE TABLE password_reset_tokens (
    id          BLOB PRIMARY KEY NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX password_reset_tokens_user ON password_reset_tokens (user_id);

CREATE TABLE email_outbox (
    id                   BLOB PRIMARY KEY NOT NULL,
    tenant_id            BLOB,
    kind                 TEXT NOT NULL,       -- invitation, password_reset, test …
    to_address           TEXT NOT NULL,
    subject              TEXT NOT NULL,
    text_body            TEXT NOT NULL,
    html_body            TEXT NOT NULL,
    link                 TEXT,                -- the one link the message carries (the log mailer prints it)
    status               TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent')),
    attempts             INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    provider_message_id  TEXT,
    next_attempt_at      TEXT NOT NULL,
    locked_until         TEXT,
    created_at           TEXT NOT NULL,
    sent_at              TEXT
);
CREATE INDEX email_outbox_due ON email_outbox (status, next_attempt_at);
