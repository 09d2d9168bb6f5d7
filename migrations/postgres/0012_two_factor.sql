-- Two-factor sign-in (service::two_factor). Account-level tables: they belong to a person.

-- One TOTP authenticator per account. confirmed_at NULL: enrolment started, not yet proven
-- with a code. last_used_step: the 30-second step of the last accepted code (a code works once).
CREATE TABLE totp_factors (
    user_id         UUID PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed   TEXT NOT NULL,          -- AES-GCM under a key derived from SECRET_KEY
    confirmed_at    TIMESTAMPTZ,
    last_used_step  BIGINT,
    created_at      TIMESTAMPTZ NOT NULL
);

-- One-time recovery codes, stored as SHA-256 (they are 50 random bits, shown once).
CREATE TABLE recovery_codes (
    id          UUID PRIMARY KEY NOT NULL,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL,
    used_at     TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX recovery_codes_by_user ON recovery_codes (user_id);

-- The second step of a sign-in: the password was right, a code is still owed. Single-use,
-- five minutes, spent after five wrong codes.
CREATE TABLE mfa_challenges (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id   UUID,
    attempts    INTEGER NOT NULL DEFAULT 0,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL
);
