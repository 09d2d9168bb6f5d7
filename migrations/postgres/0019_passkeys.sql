-- Passkeys (service::passkeys). Account-level tables: they belong to a person.

-- A registered passkey: the credential as webauthn-rs keeps it (public key, signature
-- counter) in `passkey`, its id (base64url) unique across every account.
CREATE TABLE passkeys (
    id              UUID PRIMARY KEY NOT NULL,
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    credential_id   TEXT NOT NULL UNIQUE,
    passkey         TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    last_used_at    TIMESTAMPTZ
);
CREATE INDEX passkeys_by_user ON passkeys (user_id);

-- A WebAuthn ceremony between its two requests (options, then the browser's answer): the
-- challenge state, single-use, five minutes. `user_id` is NULL for a passwordless sign-in,
-- where the passkey itself says whose it is.
CREATE TABLE webauthn_ceremonies (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    purpose     TEXT NOT NULL,              -- 'register' | 'sign_in'
    user_id     UUID REFERENCES users (id) ON DELETE CASCADE,
    state       TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL
);

-- The second step of a sign-in by passkey: the challenge sent for it.
ALTER TABLE mfa_challenges ADD COLUMN webauthn_state TEXT;
