//! TOTP factors, recovery codes and the pending second step of sign-ins.

use chrono::{DateTime, Utc};

use super::{on, Backend, Conn, Db, NewAuditEntry, NewRefreshToken, PgRead, Reader, Tx, UserInTenant};
use crate::domain::{TenantId, UserId};

/// How an answer claims a pending step whose row exists: only while it is unused and has
/// fewer than `$6` wrong answers (`$5`: now). Every claim of a step, whatever answered it,
/// goes through this clause.
const CLAIM_IF_OPEN: &str = "ON CONFLICT (token_hash) DO UPDATE SET used_at = excluded.used_at \
     WHERE mfa_challenges.used_at IS NULL AND mfa_challenges.attempts < $6";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TotpFactor {
    pub secret_sealed: String,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub last_used_step: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MfaChallenge {
    pub user_id: UserId,
    pub tenant_id: Option<TenantId>,
    pub attempts: i32,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// A pending step claimed for an answer ([`Tx::claim_mfa_challenge`]), with the standing of
/// its account in the tenant the sign-in lands in.
#[derive(Debug, sqlx::FromRow)]
pub struct ClaimedStep {
    #[sqlx(flatten)]
    pub challenge: MfaChallenge,
    #[sqlx(flatten)]
    pub standing: UserInTenant,
}

/// What the second step answered with a TOTP code reads before it checks the code
/// ([`Reader::code_step`]): the step's row if it was answered before, the account's confirmed
/// authenticator, and the account's standing in the tenant the sign-in lands in.
#[derive(Debug, sqlx::FromRow)]
pub struct CodeStep {
    /// Wrong answers so far (`None`: never answered).
    pub attempts: Option<i32>,
    pub used_at: Option<DateTime<Utc>>,
    pub totp_secret_sealed: Option<String>,
    pub totp_last_used_step: Option<i64>,
    #[sqlx(flatten)]
    pub standing: UserInTenant,
}

impl CodeStep {
    /// Whether the step can still be answered: not used and fewer than `max_attempts` wrong
    /// answers (the caller checked its expiry, which its token carries).
    pub fn is_open(&self, max_attempts: i32) -> bool {
        self.used_at.is_none() && self.attempts.unwrap_or(0) < max_attempts
    }
}

/// A right TOTP code for a pending step, to record ([`Db::answer_with_code`]).
#[derive(Debug, Clone, Copy)]
pub struct CodeAnswer<'a> {
    /// The hash of the step's token, and what its token carries.
    pub hash: &'a str,
    pub user: UserId,
    pub tenant: Option<TenantId>,
    pub expires_at: DateTime<Utc>,
    pub max_attempts: i32,
    /// The 30-second time step the code matched.
    pub time_step: i64,
    /// The sign-in's audit row (an action that announces no webhook event).
    pub audit: &'a NewAuditEntry,
    /// The refresh token to record, when the sign-in issues tokens.
    pub refresh: Option<&'a NewRefreshToken>,
    pub now: DateTime<Utc>,
}

/// What recording a right code came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeOutcome {
    /// The time step, the claim, the audit row and the refresh token are all written.
    SignedIn,
    /// The code's time step was used meanwhile (the same code, at once, elsewhere): nothing
    /// was written, and the answer counts as a wrong one.
    StepUsed,
    /// The pending step was claimed or spent meanwhile: only the time step is spent.
    Spent,
}

impl MfaChallenge {
    /// Whether the step can still be answered at `at`: not used, not expired, and fewer than
    /// `max_attempts` wrong answers (the last of which also marks it used).
    pub fn is_live(&self, at: DateTime<Utc>, max_attempts: i32) -> bool {
        self.used_at.is_none() && self.expires_at > at && self.attempts < max_attempts
    }
}

impl Reader {
    #[tracing::instrument(skip_all)]
    pub async fn totp_factor(&mut self, user: UserId) -> Result<Option<TotpFactor>, sqlx::Error> {
        on!(self, c => sqlx::query_as("SELECT secret_sealed, confirmed_at, last_used_step FROM totp_factors WHERE user_id = $1")
            .bind(user).fetch_optional(c).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn unused_recovery_codes(&mut self, user: UserId) -> Result<i64, sqlx::Error> {
        on!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL").bind(user).fetch_one(c).await)
    }

    /// The state a TOTP answer to the pending step `hash` (of `user`'s sign-in into `tenant`)
    /// is checked against, in one statement; `None` when the account is gone.
    #[tracing::instrument(skip_all)]
    pub async fn code_step(&mut self, hash: &str, user: UserId, tenant: Option<TenantId>) -> Result<Option<CodeStep>, sqlx::Error> {
        let sql = format!(
            "SELECT c.attempts, c.used_at, f.secret_sealed AS totp_secret_sealed, f.last_used_step AS totp_last_used_step, {} \
             FROM users u LEFT JOIN mfa_challenges c ON c.token_hash = $1 \
             LEFT JOIN totp_factors f ON f.user_id = u.id AND f.confirmed_at IS NOT NULL WHERE u.id = $2",
            self.standing_columns("$3")
        );
        on!(self, c => sqlx::query_as(&sql).bind(hash).bind(user).bind(tenant).fetch_optional(c).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn mfa_challenge(&mut self, hash: &str) -> Result<Option<MfaChallenge>, sqlx::Error> {
        on!(self, c => sqlx::query_as(
            "SELECT user_id, tenant_id, attempts, expires_at, used_at FROM mfa_challenges WHERE token_hash = $1")
            .bind(hash).fetch_optional(c).await)
    }
}

impl Tx {

    /// Starts (or restarts) an enrolment that is not confirmed yet; a confirmed factor is left
    /// alone (false).
    #[tracing::instrument(skip_all)]
    pub async fn put_pending_totp(&mut self, user: UserId, sealed: &str, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let rows = on!(self, c => sqlx::query(
            "INSERT INTO totp_factors (user_id, secret_sealed, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, last_used_step = NULL, created_at = excluded.created_at \
             WHERE totp_factors.confirmed_at IS NULL")
            .bind(user).bind(sealed).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(rows == 1)
    }

    #[tracing::instrument(skip_all)]
    pub async fn confirm_totp(&mut self, user: UserId, step: i64, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let rows = on!(self, c => sqlx::query("UPDATE totp_factors SET confirmed_at = $2, last_used_step = $3 WHERE user_id = $1 AND confirmed_at IS NULL")
            .bind(user).bind(now).bind(step).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(rows == 1)
    }

    /// Records `step` as used, only if it is later than the last one: two requests with the
    /// same code cannot both win.
    #[tracing::instrument(skip_all)]
    pub async fn use_totp_step(&mut self, user: UserId, step: i64) -> Result<bool, sqlx::Error> {
        let rows = on!(self, c => sqlx::query(
            "UPDATE totp_factors SET last_used_step = $2 WHERE user_id = $1 AND confirmed_at IS NOT NULL \
             AND (last_used_step IS NULL OR last_used_step < $2)")
            .bind(user).bind(step).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(rows == 1)
    }

    /// Removes the factor and the recovery codes that went with it.
    #[tracing::instrument(skip_all)]
    pub async fn delete_totp(&mut self, user: UserId) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("DELETE FROM totp_factors WHERE user_id = $1").bind(user).execute(c).await.map(|r| r.rows_affected()))?;
        on!(self, c => sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn replace_recovery_codes(&mut self, user: UserId, hashes: &[String], now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user).execute(c).await.map(|r| r.rows_affected()))?;
        for hash in hashes {
            on!(self, c => sqlx::query("INSERT INTO recovery_codes (id, user_id, code_hash, created_at) VALUES ($1, $2, $3, $4)")
                .bind(uuid::Uuid::new_v4()).bind(user).bind(hash).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        }
        Ok(())
    }

    /// Spends one recovery code; false when it is not one of the account's unused codes.
    #[tracing::instrument(skip_all)]
    pub async fn use_recovery_code(&mut self, user: UserId, hash: &str, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let rows = on!(self, c => sqlx::query("UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL")
            .bind(user).bind(hash).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(rows >= 1)
    }

    /// Counts a wrong answer to a challenge this transaction claimed
    /// ([`Tx::claim_mfa_challenge`]): it is open again for the next answer, unless that was
    /// the `max`th wrong one, which spends it. Returns the count.
    #[tracing::instrument(skip_all)]
    pub async fn count_mfa_failure(&mut self, hash: &str, max: i32, now: DateTime<Utc>) -> Result<i32, sqlx::Error> {
        let count: Option<i32> = on!(self, c => sqlx::query_scalar(
            "UPDATE mfa_challenges SET attempts = attempts + 1, used_at = CASE WHEN attempts + 1 >= $2 THEN $3 ELSE NULL END \
             WHERE token_hash = $1 RETURNING attempts")
            .bind(hash).bind(max).bind(now).fetch_optional(c).await)?;
        Ok(count.unwrap_or(max))
    }

    /// Counts a wrong TOTP code for the pending step `hash` of `user`'s sign-in into `tenant`
    /// (expiring at `expires_at`), which no answer holds: the first answer writes the step's
    /// row with one attempt, and the `max`th wrong one marks it used. `None` when it was used
    /// meanwhile (or the account is gone); else the count.
    #[tracing::instrument(skip_all)]
    pub async fn count_wrong_code(&mut self, hash: &str, (user, tenant, expires_at): (UserId, Option<TenantId>, DateTime<Utc>), max: i32, now: DateTime<Utc>) -> Result<Option<i32>, sqlx::Error> {
        on!(self, c => sqlx::query_scalar(
            "INSERT INTO mfa_challenges (token_hash, user_id, tenant_id, expires_at, created_at, attempts, used_at) \
             SELECT $1, $2, $3, $4, $5, 1, CASE WHEN 1 >= $6 THEN $5 END WHERE EXISTS (SELECT 1 FROM users WHERE id = $2) \
             ON CONFLICT (token_hash) DO UPDATE SET attempts = mfa_challenges.attempts + 1, \
             used_at = CASE WHEN mfa_challenges.attempts + 1 >= $6 THEN excluded.created_at END \
             WHERE mfa_challenges.used_at IS NULL RETURNING attempts")
            .bind(hash).bind(user).bind(tenant).bind(expires_at).bind(now).bind(max).fetch_optional(c).await)
    }

    /// Claims the pending step of `user`'s sign-in into `tenant` that expires at `expires_at`
    /// (as its token says; `hash`: the token's hash) for this transaction's answer (a recovery
    /// code or a passkey, checked in the database), and reads it with the account's standing in
    /// that tenant (what a right answer signs in as). The first answer writes the step's row, already
    /// used; a later one finds the row and takes it only if it was handed back (a wrong answer:
    /// [`Tx::count_mfa_failure`]) with fewer than `max` wrong answers. `None`: used, spent, or
    /// its account is gone. The caller checked that the step has not expired (the token says
    /// when). A concurrent answer waits for this transaction and then finds the row used.
    #[tracing::instrument(skip_all)]
    pub async fn claim_mfa_challenge(&mut self, hash: &str, (user, tenant, expires_at): (UserId, Option<TenantId>, DateTime<Utc>), max: i32, now: DateTime<Utc>) -> Result<Option<ClaimedStep>, sqlx::Error> {
        // `WHERE EXISTS`: an account deleted since the password step has no row to point at.
        let claim = format!("INSERT INTO mfa_challenges (token_hash, user_id, tenant_id, expires_at, created_at, used_at) \
             SELECT $1, $2, $3, $4, $5, $5 WHERE EXISTS (SELECT 1 FROM users WHERE id = $2) {CLAIM_IF_OPEN} \
             RETURNING user_id, tenant_id, attempts, expires_at, used_at");
        match self.backend() {
            // One round trip: the second step is on the hot path of every two-factor sign-in,
            // and on PostgreSQL each statement is a trip over the network.
            Backend::Postgres => {
                let sql = format!("WITH c AS ({claim}) SELECT c.*, {} FROM c JOIN users u ON u.id = c.user_id", self.standing_columns("c.tenant_id"));
                on!(self, c => sqlx::query_as(&sql).bind(hash).bind(user).bind(tenant).bind(expires_at).bind(now).bind(max).fetch_optional(c).await)
            }
            // SQLite cannot write in a `WITH`; its statements cost no trip, so it takes two.
            Backend::Sqlite => {
                let challenge: Option<MfaChallenge> =
                    on!(self, c => sqlx::query_as(&claim).bind(hash).bind(user).bind(tenant).bind(expires_at).bind(now).bind(max).fetch_optional(c).await)?;
                let Some(challenge) = challenge else { return Ok(None) };
                let standing = self.user_in_tenant(user, tenant).await?;
                Ok(standing.map(|standing| ClaimedStep { challenge, standing }))
            }
        }
    }
}

impl Db {
    /// Records a right TOTP code for a pending step, all or nothing: the code's time step is
    /// used (if it is still later than the last one used: [`Tx::use_totp_step`]), then the
    /// step is claimed (if it is still open: [`Tx::claim_mfa_challenge`]), then the sign-in's
    /// audit row and refresh token are written. On PostgreSQL that is one autocommitted
    /// statement, a single round trip on the hot path of every two-factor sign-in (behind a
    /// transaction pooler, one statement in a transaction); SQLite runs the same steps in one
    /// write transaction, where statements cost no trip.
    ///
    /// `read`: the handle the step was read with ([`Reader::code_step`]). On PostgreSQL the
    /// write runs on its connection (behind a pooler, in its transaction), so an answer takes
    /// one connection from the pool rather than two: sqlx pings every connection given back,
    /// a round trip more. SQLite writes behind its write gate, on a connection of its own.
    #[tracing::instrument(skip_all)]
    pub async fn answer_with_code(&self, read: Reader, answer: CodeAnswer<'_>) -> Result<CodeOutcome, sqlx::Error> {
        match self {
            Db::Postgres(_) => {
                // Each part reads the rows the one before it returned, so it runs only if that
                // one wrote: no time step, no claim; no claim, no audit row or refresh token.
                let sql = format!(
                    "WITH step AS (UPDATE totp_factors SET last_used_step = $7 WHERE user_id = $2 AND confirmed_at IS NOT NULL \
                       AND (last_used_step IS NULL OR last_used_step < $7) RETURNING user_id), \
                     claim AS (INSERT INTO mfa_challenges (token_hash, user_id, tenant_id, expires_at, created_at, used_at) \
                       SELECT $1, user_id, $3, $4, $5, $5 FROM step {CLAIM_IF_OPEN} RETURNING user_id), \
                     audit AS (INSERT INTO audit_log (id, tenant_id, actor_id, actor_email, action, resource_type, resource_id, metadata, ip_address, user_agent, created_at) \
                       SELECT $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $5 FROM claim), \
                     refresh AS (INSERT INTO refresh_tokens (jti, family_id, user_id, tenant_id, expires_at, created_at) \
                       SELECT $18, $19, $20, $21, $22, $23 FROM claim WHERE $18 IS NOT NULL) \
                     SELECT EXISTS (SELECT 1 FROM step), EXISTS (SELECT 1 FROM claim)"
                );
                let (entry, refresh) = (answer.audit, answer.refresh);
                let query = sqlx::query_as::<_, (bool, bool)>(&sql)
                    .bind(answer.hash)
                    .bind(answer.user)
                    .bind(answer.tenant)
                    .bind(answer.expires_at)
                    .bind(answer.now)
                    .bind(answer.max_attempts)
                    .bind(answer.time_step)
                    .bind(uuid::Uuid::new_v4())
                    .bind(entry.tenant_id)
                    .bind(entry.actor_id)
                    .bind(entry.actor_email.as_deref())
                    .bind(&entry.action)
                    .bind(entry.resource_type)
                    .bind(entry.resource_id.as_deref())
                    .bind(sqlx::types::Json(&entry.metadata))
                    .bind(entry.ip_address.as_deref())
                    .bind(entry.user_agent.as_deref())
                    .bind(refresh.map(|r| r.jti))
                    .bind(refresh.map(|r| r.family_id))
                    .bind(refresh.map(|r| r.user_id))
                    .bind(refresh.and_then(|r| r.tenant_id))
                    .bind(refresh.map(|r| r.expires_at))
                    .bind(refresh.map(|r| r.created_at));
                let (stepped, claimed) = match read.conn {
                    Conn::PostgresRead(PgRead::Connection(mut conn)) => query.fetch_one(&mut *conn).await?,
                    Conn::PostgresRead(PgRead::Transaction(mut tx)) | Conn::PostgresWrite(mut tx) => {
                        let row = query.fetch_one(&mut *tx).await?;
                        tx.commit().await?;
                        row
                    }
                    Conn::SqliteRead(_) | Conn::SqliteWrite(_) => {
                        return Err(sqlx::Error::Configuration("a SQLite handle cannot record a PostgreSQL answer".into()))
                    }
                };
                Ok(match (stepped, claimed) {
                    (true, true) => CodeOutcome::SignedIn,
                    (true, false) => CodeOutcome::Spent,
                    (false, _) => CodeOutcome::StepUsed,
                })
            }
            Db::Sqlite(_) => {
                drop(read);
                let mut tx = self.write().await?;
                if !tx.use_totp_step(answer.user, answer.time_step).await? {
                    return Ok(CodeOutcome::StepUsed);
                }
                let claim = format!(
                    "INSERT INTO mfa_challenges (token_hash, user_id, tenant_id, expires_at, created_at, used_at) \
                     SELECT $1, $2, $3, $4, $5, $5 WHERE true {CLAIM_IF_OPEN}"
                );
                let claimed = on!(tx, c => sqlx::query(&claim).bind(answer.hash).bind(answer.user).bind(answer.tenant).bind(answer.expires_at)
                    .bind(answer.now).bind(answer.max_attempts).execute(c).await.map(|r| r.rows_affected()))?;
                // As on PostgreSQL, a step claimed meanwhile still spends the code's time step.
                if claimed == 0 {
                    tx.commit().await?;
                    return Ok(CodeOutcome::Spent);
                }
                tx.insert_audit(answer.audit, answer.now).await?;
                if let Some(refresh) = answer.refresh {
                    tx.insert_refresh_token(refresh).await?;
                }
                tx.commit().await?;
                Ok(CodeOutcome::SignedIn)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_live_until_used_expired_or_out_of_attempts() {
        let at = Utc::now();
        let step = |used: bool, expires_in: i64, attempts: i32| MfaChallenge {
            user_id: UserId(uuid::Uuid::nil()),
            tenant_id: None,
            attempts,
            expires_at: at + chrono::Duration::seconds(expires_in),
            used_at: used.then_some(at),
        };
        assert!(step(false, 1, 4).is_live(at, 5));
        assert!(!step(true, 60, 0).is_live(at, 5), "used");
        assert!(!step(false, 0, 0).is_live(at, 5), "expires exactly now");
        assert!(!step(false, 60, 5).is_live(at, 5), "out of attempts");
    }
}
