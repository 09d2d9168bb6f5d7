//! Reading the audit trail: a tenant's ADMIN (or a superuser acting in the tenant) lists its
//! events newest first, filtered, a page at a time, or exports the whole filtered set as a
//! stream of keyset batches. The rows themselves are written by each service call, in its
//! own transaction (see [`super::Audit`]).

use chrono::{DateTime, Duration, NaiveDate, SubsecRound, Utc};

use super::{Actor, Raw, Services};
use crate::{
    domain::{AuditAction, Email, TenantId, UserId},
    store::{AuditCursor, AuditEntry, AuditQuery, Page, PageRequest},
    FieldErrors, ServiceError, ServiceResult,
};

/// `GET /api/audit-logs/?action=&actor=&since=&until=` and the `/audit` page.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// An action name such as `role_assigned`.
    pub action: Raw,
    /// The actor's user id, or the e-mail address recorded with the event.
    pub actor: Raw,
    /// RFC 3339, or a date (`YYYY-MM-DD`, from midnight UTC).
    pub since: Raw,
    /// RFC 3339 (inclusive), or a date (`YYYY-MM-DD`, the whole day, UTC).
    pub until: Raw,
}

/// What an export is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Json => "json",
        }
    }

    fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            other => Err(format!("\"{other}\" is not a valid choice. Choose one of csv, json.")),
        }
    }
}

/// An authorized, validated export that has not read anything yet. Each [`next_batch`]
/// reads the next [`AuditExport::BATCH`] events in a short transaction of its own, so a slow
/// download holds neither a connection nor more than one batch in memory.
///
/// [`next_batch`]: AuditExport::next_batch
pub struct AuditExport {
    services: Services,
    query: AuditQuery,
    after: Option<AuditCursor>,
    finished: bool,
    pub format: ExportFormat,
    pub tenant_slug: String,
    pub started_at: DateTime<Utc>,
}

impl std::fmt::Debug for AuditExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditExport").field("query", &self.query).field("after", &self.after).field("format", &self.format).finish()
    }
}

impl AuditExport {
    pub const BATCH: i64 = 1000;

    /// `audit-<tenant slug>-<YYYY-MM-DD>.<csv|json>`.
    pub fn file_name(&self) -> String {
        format!("audit-{}-{}.{}", self.tenant_slug, self.started_at.format("%Y-%m-%d"), self.format.extension())
    }

    /// The next events, newest first; `None` once every matching event was returned.
    pub async fn next_batch(&mut self) -> ServiceResult<Option<Vec<AuditEntry>>> {
        if self.finished {
            return Ok(None);
        }
        let mut tx = self.services.db().read_in(self.query.tenant).await?;
        let rows = tx.audit_batch(&self.query, self.after, Self::BATCH).await?;
        drop(tx);
        if (rows.len() as i64) < Self::BATCH {
            self.finished = true;
        }
        match rows.last() {
            Some(last) => {
                self.after = Some(last.cursor());
                Ok(Some(rows))
            }
            None => Ok(None),
        }
    }
}

impl Services {
    /// One page of the caller's tenant's events, newest first. `audit:read` (ADMIN), or a
    /// superuser acting in the tenant; checked before the filters are read.
    #[tracing::instrument(skip_all)]
    pub async fn list_audit_log(&self, actor: &Actor, filter: AuditFilter, page: PageRequest) -> ServiceResult<Page<AuditEntry>> {
        let tenant = actor.require(crate::domain::Permission::AuditRead)?;
        let query = parse_filter(tenant, &filter, FieldErrors::new())?;
        let mut tx = self.db().read_in(tenant).await?;
        let listed = self.inner.pages.audit.page(&mut tx, tenant, (query.clone(), page), async |tx| tx.audit_page(&query, page).await).await?;
        Ok(Page { items: listed.rows.clone(), count: listed.total, page: page.page, page_size: page.page_size })
    }

    /// The same filtered set as [`Services::list_audit_log`], all of it, for download as CSV
    /// or JSON. Authorization and every filter are checked here, before the first byte.
    #[tracing::instrument(skip_all)]
    pub async fn export_audit_log(&self, actor: &Actor, filter: AuditFilter, format: Raw) -> ServiceResult<AuditExport> {
        let tenant = actor.require(crate::domain::Permission::AuditRead)?;
        let mut errors = FieldErrors::new();
        let format = format.required(&mut errors, "format", ExportFormat::parse);
        let query = parse_filter(tenant, &filter, errors)?;
        let format = format.expect("checked with the filters");
        let tenant_row = self.db().read_in(tenant).await?.tenant(tenant).await?.ok_or(ServiceError::NotFound)?;
        Ok(AuditExport {
            services: self.clone(),
            query,
            after: None,
            finished: false,
            format,
            tenant_slug: tenant_row.slug,
            started_at: Utc::now(),
        })
    }
}

const ACTION_MESSAGE: &str = "Enter an action name such as role_assigned.";
const ACTOR_MESSAGE: &str = "Enter a user id (UUID) or an e-mail address.";
const TIME_MESSAGE: &str = "Enter a date (YYYY-MM-DD) or a date and time in RFC 3339 format (2024-05-01T12:00:00Z).";

/// Reads every filter, recording all problems in `errors` (which may already hold some).
fn parse_filter(tenant: TenantId, filter: &AuditFilter, mut errors: FieldErrors) -> ServiceResult<AuditQuery> {
    let action = filter.action.optional(&mut errors, "action", parse_action).flatten().flatten();
    let actor = filter.actor.optional(&mut errors, "actor", parse_actor).flatten().flatten();
    let since = filter.since.optional(&mut errors, "since", |raw| parse_time(raw, Bound::Since)).flatten().flatten();
    let before = filter.until.optional(&mut errors, "until", |raw| parse_time(raw, Bound::Until)).flatten().flatten();
    if let (Some(since), Some(before)) = (since, before) {
        if before <= since {
            errors.add("until", "Must not be earlier than since.");
        }
    }
    errors.into_result()?;
    let (actor_id, actor_email) = match actor {
        Some(ActorFilter::Id(id)) => (Some(id), None),
        Some(ActorFilter::Email(email)) => (None, Some(email.as_str().to_owned())),
        None => (None, None),
    };
    Ok(AuditQuery { tenant, action, actor_id, actor_email, since, before })
}

enum ActorFilter {
    Id(UserId),
    Email(Email),
}

/// Blank means "no filter"; anything else must look like one of our action names.
fn parse_action(raw: &str) -> Result<Option<String>, String> {
    let action = raw.trim().to_ascii_lowercase();
    if action.is_empty() {
        return Ok(None);
    }
    let valid = action.len() <= 64
        && action.starts_with(|c: char| c.is_ascii_lowercase())
        && action.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(Some(action))
    } else {
        Err(ACTION_MESSAGE.to_owned())
    }
}

fn parse_actor(raw: &str) -> Result<Option<ActorFilter>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        Ok(None)
    } else if let Ok(id) = UserId::parse(raw) {
        Ok(Some(ActorFilter::Id(id)))
    } else if raw.contains('@') {
        Email::parse(raw).map(|e| Some(ActorFilter::Email(e))).map_err(|_| ACTOR_MESSAGE.to_owned())
    } else {
        Err(ACTOR_MESSAGE.to_owned())
    }
}

#[derive(Clone, Copy)]
enum Bound {
    Since,
    Until,
}

/// `since` becomes an inclusive lower bound, `until` an exclusive upper one: a date covers its
/// whole day (UTC) and an instant includes events at that very microsecond (what is stored).
fn parse_time(raw: &str, bound: Bound) -> Result<Option<DateTime<Utc>>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if let Ok(date) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        let day = date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
        return Ok(Some(match bound {
            Bound::Since => day,
            Bound::Until => day + Duration::days(1),
        }));
    }
    let instant = DateTime::parse_from_rfc3339(&restore_plus(raw)).map_err(|_| TIME_MESSAGE.to_owned())?.with_timezone(&Utc);
    Ok(Some(match bound {
        Bound::Since => instant,
        Bound::Until => instant.trunc_subsecs(6) + Duration::microseconds(1),
    }))
}

/// An unencoded `+01:00` in a query string arrives as ` 01:00`; put the sign back.
fn restore_plus(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let n = bytes.len();
    let offset_like = n > 6
        && bytes[n - 6] == b' '
        && bytes[n - 5..].iter().enumerate().all(|(i, b)| if i == 2 { *b == b':' } else { b.is_ascii_digit() });
    if offset_like {
        format!("{}+{}", &raw[..n - 6], &raw[n - 5..])
    } else {
        raw.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
    }

    #[test]
    fn a_date_covers_its_whole_day_in_utc() {
        assert_eq!(parse_time("2024-05-01", Bound::Since).unwrap(), Some(at(2024, 5, 1, 0, 0, 0)));
        assert_eq!(parse_time("2024-05-01", Bound::Until).unwrap(), Some(at(2024, 5, 2, 0, 0, 0)));
    }

    #[test]
    fn an_instant_until_includes_its_own_microsecond() {
        let until = parse_time("2024-05-01T12:00:00.000005+02:00", Bound::Until).unwrap().unwrap();
        assert_eq!(until, at(2024, 5, 1, 10, 0, 0) + Duration::microseconds(6));
        assert_eq!(parse_time("2024-05-01T12:00:00Z", Bound::Since).unwrap(), Some(at(2024, 5, 1, 12, 0, 0)));
    }

    #[test]
    fn a_plus_sign_decoded_as_a_space_is_put_back() {
        assert_eq!(parse_time("2024-05-01T12:00:00 02:00", Bound::Since).unwrap(), Some(at(2024, 5, 1, 10, 0, 0)));
    }

    #[test]
    fn other_time_spellings_are_refused() {
        for raw in ["yesterday", "2024-13-01", "01/05/2024", "2024-05-01T12:00:00", "1714567890"] {
            assert_eq!(parse_time(raw, Bound::Since), Err(TIME_MESSAGE.to_owned()), "{raw}");
        }
    }

    #[test]
    fn actions_are_snake_case_names() {
        assert_eq!(parse_action(" Role_Assigned ").unwrap(), Some("role_assigned".to_owned()));
        assert_eq!(parse_action("").unwrap(), None);
        for raw in ["role assigned", "1abc", "drop table;", &"a".repeat(65)] {
            assert!(parse_action(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn an_actor_is_a_user_id_or_an_email() {
        let id = UserId::new();
        assert!(matches!(parse_actor(&id.to_string()), Ok(Some(ActorFilter::Id(got))) if got == id));
        assert!(matches!(parse_actor("Ann@Example.com"), Ok(Some(ActorFilter::Email(e))) if e.as_str() == "ann@example.com"));
        assert_eq!(parse_actor("ann").err(), Some(ACTOR_MESSAGE.to_owned()));
    }

    #[test]
    fn until_before_since_and_every_bad_field_are_reported_together() {
        let filter = AuditFilter { since: Raw::text("2024-05-02"), until: Raw::text("2024-05-01"), actor: Raw::text("x"), action: Raw::text("?") };
        let Err(ServiceError::Validation(fields)) = parse_filter(TenantId::new(), &filter, FieldErrors::new()) else { panic!() };
        assert!(fields.get("until").is_some() && fields.get("actor").is_some() && fields.get("action").is_some());
        assert!(fields.get("since").is_none());
    }
}

/// Events deleted per transaction when a tenant's retention applies.
const RETENTION_BATCH: i64 = 1000;

impl Services {
    /// The worker's retention pass: each tenant whose settings set `data_retention_days` loses
    /// its audit events older than that, a batch per transaction, and gains one event saying
    /// how many went. Returns how many were deleted in all.
    pub async fn apply_audit_retention(&self) -> ServiceResult<u64> {
        let tenants = self.db().read().await?.tenants_with_retention().await?;
        let mut total = 0;
        for (tenant, days) in tenants {
            let before = super::now() - chrono::Duration::days(days);
            let mut removed = 0;
            loop {
                let mut tx = self.db().write_in(tenant).await?;
                let n = tx.purge_audit_before(tenant, before, RETENTION_BATCH).await?;
                tx.commit().await?;
                removed += n;
                if n < RETENTION_BATCH as u64 {
                    break;
                }
            }
            if removed > 0 {
                let mut tx = self.db().write_in(tenant).await?;
                super::Audit { meta: &super::RequestMeta::default(), actor: None, key: None }
                    .write(&mut tx, Some(tenant), AuditAction::AuditRetentionApplied, "tenant", Some(tenant.to_string()),
                        serde_json::json!({"removed": removed, "older_than_days": days}))
                    .await?;
                tx.commit().await?;
            }
            total += removed;
        }
        Ok(total)
    }
}
