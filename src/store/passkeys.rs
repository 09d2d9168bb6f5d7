//! Registered passkeys and the WebAuthn ceremonies in flight (see `service::passkeys`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, Reader, Tx};
use crate::domain::UserId;

/// A registered passkey. `passkey` is the credential as webauthn-rs serialises it (public
/// key, signature counter); only the service reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PasskeyRow {
    pub id: Uuid,
    pub user_id: UserId,
    pub name: String,
    pub credential_id: String,
    pub passkey: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What a ceremony is for; stored as its text so that a sign-in's state can never be
/// answered as a registration's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyPurpose {
    Register,
    SignIn,
}

impl CeremonyPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::SignIn => "sign_in",
        }
    }
}

/// A ceremony's state, taken (spent) by its second request.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Ceremony {
    pub user_id: Option<UserId>,
    pub state: String,
}

const COLUMNS: &str = "id, user_id, name, credential_id, passkey, created_at, last_used_at";

impl Reader {
    /// The account's passkeys, oldest first.
    #[tracing::instrument(skip_all)]
    pub async fn passkeys_of(&mut self, user: UserId) -> Result<Vec<PasskeyRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id");
        on!(self, c => sqlx::query_as(&sql).bind(user).fetch_all(c).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn passkey_by_credential(&mut self, credential_id: &str) -> Result<Option<PasskeyRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1");
        on!(self, c => sqlx::query_as(&sql).bind(credential_id).fetch_optional(c).await)
    }

    /// The WebAuthn state of a pending sign-in's second step, once a passkey challenge was sent.
    #[tracing::instrument(skip_all)]
    pub async fn mfa_webauthn_state(&mut self, hash: &str) -> Result<Option<String>, sqlx::Error> {
        let state: Option<Option<String>> = on!(self, c => sqlx::query_scalar("SELECT webauthn_state FROM mfa_challenges WHERE token_hash = $1")
            .bind(hash).fetch_optional(c).await)?;
        Ok(state.flatten())
    }
}

impl Tx {
    /// Adds a passkey; false when its credential is already registered (to anyone).
    #[tracing::instrument(skip_all)]
    pub async fn insert_passkey(&mut self, row: &PasskeyRow) -> Result<bool, sqlx::Error> {
        let rows = on!(self, c => sqlx::query(
            "INSERT INTO passkeys (id, user_id, name, credential_id, passkey, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (credential_id) DO NOTHING")
            .bind(row.id).bind(row.user_id).bind(&row.name).bind(&row.credential_id).bind(&row.passkey).bind(row.created_at)
            .execute(c).await.map(|r| r.rows_affected()))?;
        Ok(rows == 1)
    }

    /// Removes one of the account's passkeys and returns its name; `None` when it has no such
    /// passkey.
    #[tracing::instrument(skip_all)]
    pub async fn delete_passkey(&mut self, user: UserId, id: Uuid) -> Result<Option<String>, sqlx::Error> {
        on!(self, c => sqlx::query_scalar("DELETE FROM passkeys WHERE user_id = $1 AND id = $2 RETURNING name")
            .bind(user).bind(id).fetch_optional(c).await)
    }

    /// Records a use: the credential as it now stands (its counter) and when.
    #[tracing::instrument(skip_all)]
    pub async fn record_passkey_use(&mut self, id: Uuid, passkey: &str, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("UPDATE passkeys SET passkey = $2, last_used_at = $3 WHERE id = $1")
            .bind(id).bind(passkey).bind(at).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn insert_ceremony(&mut self, hash: &str, purpose: CeremonyPurpose, user: Option<UserId>, state: &str, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("INSERT INTO webauthn_ceremonies (token_hash, purpose, user_id, state, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(hash).bind(purpose.as_str()).bind(user).bind(state).bind(expires_at).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Spends a live ceremony of `purpose` and returns its state; `None` when there is none,
    /// or it was used or has expired. Two requests with the same ceremony cannot both have it.
    #[tracing::instrument(skip_all)]
    pub async fn take_ceremony(&mut self, hash: &str, purpose: CeremonyPurpose, now: DateTime<Utc>) -> Result<Option<Ceremony>, sqlx::Error> {
        on!(self, c => sqlx::query_as(
            "UPDATE webauthn_ceremonies SET used_at = $3 WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 \
             RETURNING user_id, state")
            .bind(hash).bind(purpose.as_str()).bind(now).fetch_optional(c).await)
    }

    /// Keeps the passkey challenge sent for a pending sign-in's second step (a new one
    /// replaces the last: only the latest can answer). The step's row is written here when
    /// this is its first use (see [`Tx::claim_mfa_challenge`] for the step's parts).
    #[tracing::instrument(skip_all)]
    pub async fn set_mfa_webauthn_state(&mut self, hash: &str, (user, tenant, expires_at): (UserId, Option<crate::domain::TenantId>, DateTime<Utc>), state: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query(
            "INSERT INTO mfa_challenges (token_hash, user_id, tenant_id, expires_at, created_at, webauthn_state) \
             SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM users WHERE id = $2) \
             ON CONFLICT (token_hash) DO UPDATE SET webauthn_state = excluded.webauthn_state")
            .bind(hash).bind(user).bind(tenant).bind(expires_at).bind(now).bind(state).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Forgets sign-in steps and ceremonies that ended before `before` (expired or not, they
    /// can no longer be used). Returns how many rows went.
    #[tracing::instrument(skip_all)]
    pub async fn forget_spent_sign_in_steps(&mut self, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        let ceremonies = on!(self, c => sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at < $1")
            .bind(before).execute(c).await.map(|r| r.rows_affected()))?;
        let challenges = on!(self, c => sqlx::query("DELETE FROM mfa_challenges WHERE expires_at < $1")
            .bind(before).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(ceremonies + challenges)
    }
}
