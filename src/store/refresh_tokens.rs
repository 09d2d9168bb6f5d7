use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, Reader, Tx};
use crate::domain::{TenantId, UserId};

/// What the server remembers about a refresh token it issued.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshTokenRecord {
    pub jti: Uuid,
    pub family_id: Uuid,
    pub user_id: UserId,
    pub tenant_id: Option<TenantId>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it was issued: the last activity of its session (a refresh issues a new one).
    pub created_at: DateTime<Utc>,
}

/// A refresh token about to be recorded: what [`Tx::insert_refresh_token`] writes.
#[derive(Debug, Clone, Copy)]
pub struct NewRefreshToken {
    pub jti: Uuid,
    /// One family per sign-in: a reused token revokes all of it.
    pub family_id: Uuid,
    pub user_id: UserId,
    pub tenant_id: Option<TenantId>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl Reader {

    #[tracing::instrument(skip_all)]
    pub async fn refresh_token(&mut self, jti: Uuid) -> Result<Option<RefreshTokenRecord>, sqlx::Error> {
        on!(self, c => sqlx::query_as(
            "SELECT jti, family_id, user_id, tenant_id, expires_at, used_at, revoked_at, created_at FROM refresh_tokens WHERE jti = $1")
            .bind(jti).fetch_optional(c).await)
    }
}

impl Tx {
    #[tracing::instrument(skip_all)]
    pub async fn insert_refresh_token(&mut self, token: &NewRefreshToken) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query(
            "INSERT INTO refresh_tokens (jti, family_id, user_id, tenant_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(token.jti).bind(token.family_id).bind(token.user_id).bind(token.tenant_id).bind(token.expires_at).bind(token.created_at)
            .execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Marks a live token used; `false` when it was already used or revoked (so two
    /// concurrent refreshes cannot both win).
    #[tracing::instrument(skip_all)]
    pub async fn consume_refresh_token(&mut self, jti: Uuid, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let result = on!(self, c => sqlx::query(
            "UPDATE refresh_tokens SET used_at = $2 WHERE jti = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2")
            .bind(jti).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(result == 1)
    }

    #[tracing::instrument(skip_all)]
    pub async fn revoke_refresh_family(&mut self, family: Uuid, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
            .bind(family).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn revoke_refresh_tokens_of_user(&mut self, user: UserId, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
            .bind(user).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Makes every refresh token of `user` look issued `minutes` earlier (tests of the idle
    /// timeout).
    #[cfg(test)]
    pub async fn age_refresh_tokens_for_tests(&mut self, user: UserId, minutes: i64) -> Result<(), sqlx::Error> {
        let rows: Vec<(Uuid, DateTime<Utc>)> = on!(self, c => sqlx::query_as("SELECT jti, created_at FROM refresh_tokens WHERE user_id = $1")
            .bind(user).fetch_all(c).await)?;
        for (jti, created) in rows {
            on!(self, c => sqlx::query("UPDATE refresh_tokens SET created_at = $2 WHERE jti = $1")
                .bind(jti).bind(created - chrono::Duration::minutes(minutes)).execute(c).await.map(|r| r.rows_affected()))?;
        }
        Ok(())
    }
}
