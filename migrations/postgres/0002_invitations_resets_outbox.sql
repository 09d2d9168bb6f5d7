-- Invitations, password reset tokens, the e-mail outbox, and a per-account credentials
-- version that invalidates sessions and tokens when a password is reset.

ALTER TABLE users ADD COLUMN auth_version INTEGER NOT NULL DEFAULT 0;

CREATE TABLE invitations (
    id           UUID PRIMARY KEY,
    tenant_id    UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    role         TEXT CHECK (role IN ('ADMIN', 'ANALYST', 'VIEWER')),
    token_hash   TEXT NOT NULL UNIQUE,     -- SHA-256 of the token; the token itself is never stored
    invited_by   UUID REFERENCES users (id) ON DELETE SET NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    accepted_at  TIMESTAMPTZ,
    accepted_by  UUID REFERENCES users (id) ON DELETE SET NULL,
    revoked_at   TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX invitations_tenant_email ON invitations (tenant_id, email);
CREATE INDEX invitations_tenant_created ON invitations (tenant_id, created_at DESC);

CREATE TABLE password_reset_tokens (
    id          UUID PRIMARY KEY,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX password_reset_tokens_user ON password_reset_tokens (user_id);

CREATE TABLE email_outbox (
    id                   UUID PRIMARY KEY,
    tenant_id            UUID,
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
    next_attempt_at      TIMESTAMPTZ NOT NULL,
    locked_until         TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL,
    sent_at              TIMESTAMPTZ
);
CREATE INDEX email_outbox_due ON email_outbox (status, next_attempt_at);
