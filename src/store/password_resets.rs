use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, Reader, Tx};
use crate::domain::UserId;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResetToken {
    pub id: Uuid,
    pub user_id: UserId,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

impl Reader {

    #[tracing::instrument(skip_all)]
    pub async fn reset_token(&mut self, token_hash: &str) -> Result<Option<ResetToken>, sqlx::Error> {
        on!(self, c => sqlx::query_as("SELECT id, user_id, expires_at, used_at FROM password_reset_tokens WHERE token_hash = $1")
            .bind(token_hash).fetch_optional(c).await)
    }
}

impl Tx {
    /// Stores a new reset token and spends every older unused one of the account.
    #[tracing::instrument(skip_all)]
    pub async fn insert_reset_token(&mut self, user: UserId, token_hash: &str, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("UPDATE password_reset_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL")
            .bind(user).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        on!(self, c => sqlx::query(
            "INSERT INTO password_reset_tokens (id, user_id, token_hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(Uuid::new_v4()).bind(user).bind(token_hash).bind(expires_at).bind(now)
            .execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Spends a live token in one conditional update; of two concurrent uses one wins.
    #[tracing::instrument(skip_all)]
    pub async fn use_reset_token(&mut self, id: Uuid, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let rows = on!(self, c => sqlx::query(
            "UPDATE password_reset_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2")
            .bind(id).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(rows == 1)
    }
}
