use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{json_page, on, Backend, List, Listed, PageRequest, Reader, Tx};
use crate::domain::{Email, RoleName, TenantId, UserId};

/// An invitation as stored (the token itself is never stored, only its hash).
/// A row, or an element of a JSON page.
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct Invitation {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub email: String,
    #[serde(deserialize_with = "json_page::optional_role")]
    pub role: Option<RoleName>,
    pub invited_by: Option<UserId>,
    #[serde(deserialize_with = "json_page::time")]
    pub expires_at: DateTime<Utc>,
    #[serde(deserialize_with = "json_page::optional_time")]
    pub accepted_at: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "json_page::optional_time")]
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "json_page::time")]
    pub created_at: DateTime<Utc>,
    /// Wrong passwords given with this invitation's token.
    pub failed_attempts: i32,
    /// The tenant's name and the inviter's e-mail, joined for pages and mails.
    pub tenant_name: String,
    pub inviter_email: Option<String>,
    /// The tenant was deleted: its invitations stop working at once.
    #[serde(deserialize_with = "json_page::flag")]
    pub tenant_deleted: bool,
}

macro_rules! from_joined {
    () => {
        "FROM invitations i JOIN tenants t ON t.id = i.tenant_id LEFT JOIN users u ON u.id = i.invited_by"
    };
}

const FROM: &str = from_joined!();

const SELECT: &str = concat!(
    "SELECT i.id, i.tenant_id, i.email, i.role, i.invited_by, i.expires_at, i.accepted_at, i.revoked_at, \
     i.created_at, i.failed_attempts, t.name AS tenant_name, u.email AS inviter_email, (t.deleted_at IS NOT NULL) AS tenant_deleted ",
    from_joined!()
);

/// The columns of [`SELECT`] for a JSON page.
const PAGE_COLUMNS: [json_page::Column<'static>; 13] = [
    json_page::uuid("id", "i.id"),
    json_page::uuid("tenant_id", "i.tenant_id"),
    json_page::plain("email", "i.email"),
    json_page::plain("role", "i.role"),
    json_page::uuid("invited_by", "i.invited_by"),
    json_page::plain("expires_at", "i.expires_at"),
    json_page::plain("accepted_at", "i.accepted_at"),
    json_page::plain("revoked_at", "i.revoked_at"),
    json_page::plain("created_at", "i.created_at"),
    json_page::plain("failed_attempts", "i.failed_attempts"),
    json_page::plain("tenant_name", "t.name"),
    json_page::plain("inviter_email", "u.email"),
    json_page::plain("tenant_deleted", "(t.deleted_at IS NOT NULL)"),
];

/// Which invitations to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvitationState {
    Pending,
    Accepted,
    Expired,
    Revoked,
}

impl Reader {

    /// Whether `email` has a pending, unexpired invitation to `tenant`.
    #[tracing::instrument(skip_all)]
    pub async fn has_pending_invitation(&mut self, tenant: TenantId, email: &Email, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let found: Option<i32> = on!(self, c => sqlx::query_scalar(
            "SELECT 1 FROM invitations WHERE tenant_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3 LIMIT 1")
            .bind(tenant).bind(email.as_str()).bind(now).fetch_optional(c).await)?;
        Ok(found.is_some())
    }

    #[tracing::instrument(skip_all)]
    pub async fn invitation_by_token_hash(&mut self, token_hash: &str) -> Result<Option<Invitation>, sqlx::Error> {
        let sql = format!("{SELECT} WHERE i.token_hash = $1");
        on!(self, c => sqlx::query_as(&sql).bind(token_hash).fetch_optional(c).await)
    }

    /// One of `tenant`'s invitations; another tenant's id finds nothing, on every backend
    /// (the tenant is in the SQL, not a filter applied afterwards).
    #[tracing::instrument(skip_all)]
    pub async fn invitation(&mut self, tenant: TenantId, id: Uuid) -> Result<Option<Invitation>, sqlx::Error> {
        let sql = format!("{SELECT} WHERE i.id = $1 AND i.tenant_id = $2");
        on!(self, c => sqlx::query_as(&sql).bind(id).bind(tenant).fetch_optional(c).await)
    }

    /// Any tenant's invitation by id: for the operator's CLI only, which acts across tenants.
    #[tracing::instrument(skip_all)]
    pub async fn invitation_anywhere(&mut self, id: Uuid) -> Result<Option<Invitation>, sqlx::Error> {
        let sql = format!("{SELECT} WHERE i.id = $1");
        on!(self, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)
    }

    /// Whether an invitation expired unaccepted and has not been announced yet.
    #[tracing::instrument(skip_all)]
    pub async fn any_invitation_expired_unnoticed(&mut self, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        on!(self, c => sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM invitations WHERE accepted_at IS NULL AND revoked_at IS NULL AND expiry_noticed_at IS NULL AND expires_at <= $1 \
             AND tenant_id NOT IN (SELECT id FROM tenants WHERE deleted_at IS NOT NULL))")
            .bind(now).fetch_one(c).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn invitations(&mut self, tenant: TenantId, state: Option<InvitationState>, email: Option<&str>, now: DateTime<Utc>, page: PageRequest) -> Result<Listed<Invitation>, sqlx::Error> {
        let state_filter = match state {
            None => "TRUE",
            Some(InvitationState::Pending) => "i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2",
            Some(InvitationState::Accepted) => "i.accepted_at IS NOT NULL",
            Some(InvitationState::Expired) => "i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at <= $2",
            Some(InvitationState::Revoked) => "i.revoked_at IS NOT NULL",
        };
        // `$2` and `$3` are bound in every case so the parameter list stays the same; the e-mail
        // is compared only when it is given (`$3 IS NULL OR …` would hide the tenant's indexes
        // from a generic plan, as for role assignments).
        let by_email = if email.is_some() { "i.email = $3" } else { "$3 IS NULL" };
        let filter = format!("i.tenant_id = $1 AND ($2 IS NOT NULL) AND {by_email} AND {state_filter}");
        let sql = json_page::sql(
            self.backend(),
            List::Invitations,
            &PAGE_COLUMNS,
            &format!("{FROM} WHERE {filter} ORDER BY i.created_at DESC, i.id {}", json_page::limit_offset(page, 4)),
            &if state.is_none() && email.is_none() {
                json_page::kept_total_sql("invitations", "$1")
            } else {
                format!("SELECT COUNT(*) FROM invitations i WHERE {filter}")
            },
        );
        let row = on!(self, c => json_page::bind_window(sqlx::query_as(&sql).bind(tenant).bind(now).bind(email), page).fetch_one(c).await)?;
        json_page::decode(row, |a: &Invitation, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)))
    }
}

impl Tx {
    #[tracing::instrument(skip_all)]
    pub async fn insert_invitation(&mut self, tenant: TenantId, email: &Email, role: Option<&RoleName>, token_hash: &str, by: Option<UserId>, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<Uuid, sqlx::Error> {
        let id = Uuid::new_v4();
        on!(self, c => sqlx::query(
            "INSERT INTO invitations (id, tenant_id, email, role, token_hash, invited_by, expires_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)")
            .bind(id).bind(tenant).bind(email.as_str()).bind(role.map(RoleName::as_str)).bind(token_hash).bind(by).bind(expires_at).bind(now)
            .execute(c).await.map(|r| r.rows_affected()))?;
        Ok(id)
    }

    /// Revokes every pending invitation for this e-mail in this tenant (a new one replaces them).
    #[tracing::instrument(skip_all)]
    pub async fn revoke_pending_invitations(&mut self, tenant: TenantId, email: &Email, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        on!(self, c => sqlx::query(
            "UPDATE invitations SET revoked_at = $3, updated_at = $3 \
             WHERE tenant_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL")
            .bind(tenant).bind(email.as_str()).bind(now).execute(c).await.map(|r| r.rows_affected()))
    }

    /// Redeems a pending, unexpired invitation in one conditional update: of two concurrent
    /// accepts exactly one sees `true`.
    #[tracing::instrument(skip_all)]
    pub async fn redeem_invitation(&mut self, tenant: TenantId, id: Uuid, by: UserId, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let rows = on!(self, c => sqlx::query(
            "UPDATE invitations SET accepted_at = $3, accepted_by = $2, updated_at = $3 \
             WHERE id = $1 AND tenant_id = $4 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3")
            .bind(id).bind(by).bind(now).bind(tenant).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(rows == 1)
    }

    /// Revokes one pending invitation; `false` when it was no longer pending.
    #[tracing::instrument(skip_all)]
    pub async fn revoke_invitation(&mut self, tenant: TenantId, id: Uuid, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let rows = on!(self, c => sqlx::query(
            "UPDATE invitations SET revoked_at = $2, updated_at = $2 WHERE id = $1 AND tenant_id = $3 AND accepted_at IS NULL AND revoked_at IS NULL")
            .bind(id).bind(now).bind(tenant).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(rows == 1)
    }

    /// Gives an invitation a new token and expiry (resend, extend).
    #[tracing::instrument(skip_all)]
    pub async fn renew_invitation(&mut self, tenant: TenantId, id: Uuid, token_hash: Option<&str>, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let rows = on!(self, c => sqlx::query(
            "UPDATE invitations SET token_hash = COALESCE($2, token_hash), expires_at = $3, updated_at = $4, expiry_noticed_at = NULL \
             WHERE id = $1 AND tenant_id = $5 AND accepted_at IS NULL AND revoked_at IS NULL")
            .bind(id).bind(token_hash).bind(expires_at).bind(now).bind(tenant).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(rows == 1)
    }

    /// Counts one wrong password given with a pending invitation; at `limit` it is withdrawn
    /// in the same statement. Returns the count after this one.
    #[tracing::instrument(skip_all)]
    pub async fn count_invitation_failure(&mut self, tenant: TenantId, id: Uuid, limit: i32, now: DateTime<Utc>) -> Result<i32, sqlx::Error> {
        on!(self, c => sqlx::query_scalar(
            "UPDATE invitations SET failed_attempts = failed_attempts + 1, updated_at = $3, \
                    revoked_at = CASE WHEN failed_attempts + 1 >= $2 THEN $3 ELSE revoked_at END \
             WHERE id = $1 AND tenant_id = $4 AND accepted_at IS NULL AND revoked_at IS NULL RETURNING failed_attempts")
            .bind(id).bind(limit).bind(now).bind(tenant).fetch_optional(c).await)
            .map(|count: Option<i32>| count.unwrap_or(limit))
    }

    /// Makes an invitation expire now (support: "make this link stop working").
    #[tracing::instrument(skip_all)]
    pub async fn expire_invitation(&mut self, tenant: TenantId, id: Uuid, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let rows = on!(self, c => sqlx::query(
            "UPDATE invitations SET expires_at = $2, updated_at = $2, expiry_noticed_at = $2 WHERE id = $1 AND tenant_id = $3 AND accepted_at IS NULL AND revoked_at IS NULL")
            .bind(id).bind(now).bind(tenant).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(rows == 1)
    }

    /// Sweeps of invitations across tenants (noticing expiries, purging) take turns between
    /// replicas on PostgreSQL: each change to an open invitation updates its tenant's kept
    /// count (migration 0020), so two sweeps over the same tenants in different orders could
    /// each hold one tenant's count and wait for the other's, a deadlock. Writers inside one
    /// tenant touch one count and need no turn. Held until the transaction ends.
    async fn take_sweep_turn(&mut self) -> Result<(), sqlx::Error> {
        /// An arbitrary key of Tenantry's own for `pg_advisory_xact_lock`.
        const INVITATION_SWEEPS: i64 = 0x7465_6e61_6e74_0001;
        if self.backend() == Backend::Postgres {
            on!(self, c => sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(INVITATION_SWEEPS).execute(c).await.map(drop))?;
        }
        Ok(())
    }

    /// Marks up to `limit` invitations that expired unaccepted (in a tenant not deleted) as
    /// noticed, once each, and returns them: `(id, tenant, email, role)`. Other workers wait
    /// for their turn ([`Tx::take_sweep_turn`]), then skip what this one marked.
    #[tracing::instrument(skip_all)]
    pub async fn notice_expired_invitations(&mut self, now: DateTime<Utc>, limit: i64) -> Result<Vec<(Uuid, TenantId, String, Option<String>)>, sqlx::Error> {
        self.take_sweep_turn().await?;
        let skip_locked = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE invitations SET expiry_noticed_at = $1 WHERE id IN \
             (SELECT id FROM invitations WHERE accepted_at IS NULL AND revoked_at IS NULL AND expiry_noticed_at IS NULL AND expires_at <= $1 \
              AND tenant_id NOT IN (SELECT id FROM tenants WHERE deleted_at IS NOT NULL) ORDER BY expires_at LIMIT $2 {skip_locked}) \
             RETURNING id, tenant_id, email, role"
        );
        on!(self, c => sqlx::query_as(&sql).bind(now).bind(limit).fetch_all(c).await)
    }

    /// Deletes invitations that expired unaccepted before `now`; returns how many.
    #[tracing::instrument(skip_all)]
    pub async fn purge_expired_invitations(&mut self, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        self.take_sweep_turn().await?;
        on!(self, c => sqlx::query("DELETE FROM invitations WHERE accepted_at IS NULL AND expires_at <= $1")
            .bind(now).execute(c).await.map(|r| r.rows_affected()))
    }
}
