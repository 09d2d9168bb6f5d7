//! Bulk member import: many people invited (or given accounts) in one request, a CSV upload or
//! the CLI. Each row stands alone: it is checked first and written only when good, so a bad row
//! is reported and skipped, never half-made. Rows already in the tenant (members, pending
//! invitations) are reported `exists`, which makes an import safe to repeat.
//!
//! Up to [`INLINE_ROWS`] rows are imported within the request. Larger imports become a job
//! (see `jobs`): the rows are stored, and the worker imports them in batches, recording each
//! row's outcome in the transaction of what it made, so a restart resumes where it stopped and
//! nobody gets two welcome e-mails.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{now, quotas::Room, roles::find_role, Actor, Audit, Raw, RequestMeta, Services};
use crate::{
    auth::unusable_password,
    domain::{AuditAction, Email, Permission, PersonName, Role, RoleName, TenantId, UserId},
    error::is_unique_violation,
    mail::templates,
    store::{NewUser, Reader, Tx},
    FieldErrors, ServiceError, ServiceResult,
};

/// Imports of at most this many rows are answered inline; larger ones run as a job.
pub const INLINE_ROWS: usize = 100;
/// The most rows one import may carry.
pub const MAX_ROWS: usize = 10_000;

/// One person to import, as it arrives (a JSON object or a CSV line).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRow {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role: Option<String>,
    /// A problem with the row's shape found while reading it (not an object, a field that is
    /// not text): reported as the row's errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

impl ImportRow {
    /// A row from a JSON value of the `users` list.
    pub fn from_json(value: &serde_json::Value) -> Self {
        let Some(object) = value.as_object() else {
            return Self { unreadable: Some("Each row must be an object with at least an email.".into()), ..Self::default() };
        };
        let mut row = Self::default();
        let mut bad = Vec::new();
        let mut text = |field: &str| match object.get(field) {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(_) => {
                bad.push(field.to_owned());
                None
            }
        };
        row.email = text("email");
        row.first_name = text("first_name");
        row.last_name = text("last_name");
        row.role = text("role");
        if !bad.is_empty() {
            row.unreadable = Some(format!("Not a valid string: {}.", bad.join(", ")));
        }
        row
    }

    /// A row from a CSV `full_name` column: the first word is the first name.
    pub fn with_full_name(email: Option<String>, full_name: Option<&str>, role: Option<String>) -> Self {
        let name = full_name.map(str::trim).unwrap_or("");
        let (first, last) = name.split_once(char::is_whitespace).map_or((name, ""), |(f, l)| (f, l.trim()));
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Self { email, first_name: some(first), last_name: some(last), role, unreadable: None }
    }
}

/// Invite people (they accept through the e-mailed link), or make their accounts at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportMode {
    Invite,
    Create,
}

/// How an import runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOptions {
    pub mode: ImportMode,
    /// Invite mode: whether invitations are e-mailed now (otherwise they wait for a resend).
    /// Create mode: whether new accounts get their set-password link now.
    pub send_welcome_emails: bool,
    /// Create mode: accounts get random passwords that are never shown or sent (rows carry no
    /// passwords, so this is the only way; the welcome e-mail's link sets one).
    pub generate_passwords: bool,
}

/// The raw request: rows and options as they arrived.
#[derive(Debug, Clone, Default)]
pub struct ImportInput {
    pub rows: Vec<ImportRow>,
    /// Set when the `users` field itself is unusable (missing, not a list).
    pub rows_error: Option<String>,
    pub mode: Raw,
    pub send_welcome_emails: Raw,
    pub generate_passwords: Raw,
}

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowStatus {
    Created,
    Invited,
    Exists,
    Failed,
}

impl RowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Invited => "invited",
            Self::Exists => "exists",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Created, Self::Invited, Self::Exists, Self::Failed].into_iter().find(|s| s.as_str() == text)
    }
}

/// One row's outcome (1-based row numbers, as people count lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowResult {
    pub row: usize,
    pub email: Option<String>,
    pub status: RowStatus,
    pub errors: Option<FieldErrors>,
}

/// The outcome of an import answered inline (or checked by a dry run: what would happen).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub created: usize,
    pub invited: usize,
    pub exists: usize,
    pub failed: usize,
    pub results: Vec<RowResult>,
}

impl ImportReport {
    pub fn from_results(results: Vec<RowResult>) -> Self {
        let count = |status| results.iter().filter(|r| r.status == status).count();
        Self { created: count(RowStatus::Created), invited: count(RowStatus::Invited), exists: count(RowStatus::Exists), failed: count(RowStatus::Failed), results }
    }
}

/// What an import request became.
#[derive(Debug, Clone)]
pub enum ImportOutcome {
    Done(ImportReport),
    Job(super::jobs::JobView),
}

/// A row that passed its own checks.
#[derive(Debug, Clone)]
pub(crate) struct CheckedRow {
    pub email: Email,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub role: Option<String>,
}

/// Who an import acts for, and who its audit rows name.
pub(crate) struct ImportContext<'a> {
    pub tenant: TenantId,
    pub tenant_name: String,
    pub options: ImportOptions,
    /// Recorded as the inviter / the account's maker.
    pub by: Option<UserId>,
    pub actor: Option<&'a Actor>,
    pub meta: &'a RequestMeta,
}

impl ImportContext<'_> {
    fn audit(&self) -> Audit<'_> {
        match self.actor {
            Some(actor) => actor.audit(self.meta),
            None => Audit { meta: self.meta, actor: None, key: None },
        }
    }
}


fn parse_mode(raw: &str) -> Result<ImportMode, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "invite" | "" => Ok(ImportMode::Invite),
        "create" => Ok(ImportMode::Create),
        other => Err(format!("\"{other}\" is not a valid choice. Choose invite or create.")),
    }
}

/// Parses the options, reporting every bad one.
pub(crate) fn parse_options(input: &ImportInput, errors: &mut FieldErrors) -> Option<ImportOptions> {
    let mode = input.mode.optional(errors, "mode", parse_mode).map(|m| m.unwrap_or(ImportMode::Invite));
    let send = input.send_welcome_emails.optional(errors, "send_welcome_emails", super::input::parse_flag).map(|f| f.unwrap_or(true));
    let generate = input.generate_passwords.optional(errors, "generate_passwords", super::input::parse_flag).map(|f| f.unwrap_or(false));
    Some(ImportOptions { mode: mode?, send_welcome_emails: send?, generate_passwords: generate? })
}

/// A row's own checks (nothing about the database): its fields, every problem at once.
pub(crate) fn check_row(row: &ImportRow) -> Result<CheckedRow, FieldErrors> {
    let mut errors = FieldErrors::new();
    if let Some(problem) = &row.unreadable {
        errors.add("row", problem.clone());
    }
    let email = Raw::from_form(row.email.clone()).required(&mut errors, "email", Email::parse);
    let first_name = Raw::from_form(row.first_name.clone()).optional(&mut errors, "first_name", PersonName::parse);
    let last_name = Raw::from_form(row.last_name.clone()).optional(&mut errors, "last_name", PersonName::parse);
    let role = Raw::from_form(row.role.clone().filter(|r| !r.trim().is_empty())).optional(&mut errors, "role", |raw| RoleName::parse(raw).map(|_| raw.trim().to_owned()));
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(CheckedRow {
        email: email.unwrap(),
        first_name: first_name.flatten().unwrap_or_default(),
        last_name: last_name.flatten().unwrap_or_default(),
        role: role.flatten(),
    })
}

/// Rows whose e-mail an earlier row of the same import already has: they fail with a
/// message naming that row (so a dry run and a real run say the same).
pub(crate) fn duplicates(rows: &[ImportRow]) -> HashMap<usize, usize> {
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    let mut repeated = HashMap::new();
    for (index, row) in rows.iter().enumerate() {
        let Some(email) = row.email.as_deref().and_then(|e| Email::parse(e).ok()) else { continue };
        match first_seen.get(email.as_str()) {
            Some(first) => {
                repeated.insert(index + 1, *first);
            }
            None => {
                first_seen.insert(email.as_str().to_owned(), index + 1);
            }
        }
    }
    repeated
}

pub(crate) fn duplicate_error(first: usize) -> FieldErrors {
    FieldErrors::single("email", format!("This address is already in row {first} of this import."))
}

fn failed(row: usize, email: Option<String>, errors: FieldErrors) -> RowResult {
    RowResult { row, email, status: RowStatus::Failed, errors: Some(errors) }
}

impl Services {
    /// `POST /api/tenants/{tenant}/users/bulk/` and `…/import/`: `members:write` and
    /// `invitations:write` in that tenant. Up to [`INLINE_ROWS`] rows are imported now;
    /// more become a job.
    #[tracing::instrument(skip_all)]
    pub async fn import_members(&self, actor: &Actor, tenant: TenantId, input: ImportInput, meta: &RequestMeta) -> ServiceResult<ImportOutcome> {
        let tenant = self.tenant_where(actor, Some(tenant), Permission::MembersWrite).await?;
        self.tenant_where(actor, Some(tenant), Permission::InvitationsWrite).await?;
        let options = self.checked_import(&input)?;
        if input.rows.len() <= INLINE_ROWS {
            let report = self.import_now(actor, tenant, &input.rows, options, meta).await?;
            return Ok(ImportOutcome::Done(report));
        }
        let job = self.create_import_job(actor, tenant, &input.rows, options, super::jobs::JobStatus::Queued).await?;
        Ok(ImportOutcome::Job(job))
    }

    /// The options, and the size of the row list, checked (400 naming each problem).
    pub(crate) fn checked_import(&self, input: &ImportInput) -> ServiceResult<ImportOptions> {
        let mut errors = FieldErrors::new();
        let options = parse_options(input, &mut errors);
        if let Some(problem) = &input.rows_error {
            errors.add("users", problem.clone());
        } else if input.rows.is_empty() {
            errors.add("users", "Give at least one row.");
        } else if input.rows.len() > MAX_ROWS {
            errors.add("users", format!("An import carries at most {MAX_ROWS} rows; this one has {}.", input.rows.len()));
        }
        errors.into_result()?;
        Ok(options.expect("no errors"))
    }

    async fn import_now(&self, actor: &Actor, tenant: TenantId, rows: &[ImportRow], options: ImportOptions, meta: &RequestMeta) -> ServiceResult<ImportReport> {
        let tenant_name = self.db().read_in(tenant).await?.tenant(tenant).await?.ok_or(ServiceError::NotFound)?.name;
        let context = ImportContext { tenant, tenant_name, options, by: Some(actor.user_id), actor: Some(actor), meta };
        let repeated = duplicates(rows);
        let mut results = Vec::with_capacity(rows.len());
        for (index, row) in rows.iter().enumerate() {
            let number = index + 1;
            let result = match (repeated.get(&number), check_row(row)) {
                (Some(first), _) => failed(number, row.email.clone(), duplicate_error(*first)),
                (None, Err(errors)) => failed(number, row.email.clone(), errors),
                (None, Ok(checked)) => self.import_one(&context, number, &checked).await?,
            };
            results.push(result);
        }
        let mut tx = self.db().write_in(tenant).await?;
        self.update_alerts(&mut tx, tenant, meta).await?;
        tx.commit().await?;
        self.wake_mailer();
        Ok(ImportReport::from_results(results))
    }

    /// Imports one checked row in its own transaction.
    async fn import_one(&self, context: &ImportContext<'_>, number: usize, row: &CheckedRow) -> ServiceResult<RowResult> {
        let mut tx = self.db().write_in(context.tenant).await?;
        let result = self.import_row_in(&mut tx, context, number, row, &mut None).await?;
        tx.commit().await?;
        Ok(result)
    }

    /// What a row would come to in `tx`, writing nothing: its role (granted by the actor's
    /// rights), whether the person is in already, and whether a seat is left in `room` (the
    /// seats the rows before it take, counted by the caller). `Err` is the row's final result.
    pub(crate) async fn plan_row(&self, tx: &mut Reader, context: &ImportContext<'_>, number: usize, row: &CheckedRow, room: &Room) -> ServiceResult<Result<PlannedRow, RowResult>> {
        let email = Some(row.email.as_str().to_owned());
        let default_role = match context.options.mode {
            ImportMode::Invite => Some(Role::Viewer.as_str().to_owned()),
            ImportMode::Create => None,
        };
        let role = match row.role.clone().or(default_role) {
            None => None,
            Some(raw) => match find_role(tx, context.tenant, &raw).await? {
                Ok(role) => {
                    if let Some(actor) = context.actor {
                        if let Err(ServiceError::Forbidden(message)) = actor.may_grant(&role.grants) {
                            return Ok(Err(failed(number, email, FieldErrors::single("role", message))));
                        }
                    }
                    Some(role.name)
                }
                Err(message) => return Ok(Err(failed(number, email, FieldErrors::single("role", message)))),
            },
        };
        let existing = tx.user_by_email(&row.email).await?;
        if let Some(user) = &existing {
            if tx.is_member(context.tenant, user.id).await? {
                return Ok(Err(RowResult { row: number, email, status: RowStatus::Exists, errors: None }));
            }
        }
        if tx.has_pending_invitation(context.tenant, &row.email, now()).await? {
            return Ok(Err(RowResult { row: number, email, status: RowStatus::Exists, errors: None }));
        }
        // Quotas apply per row: each one takes a seat.
        match room.fits(1) {
            Ok(()) => {}
            Err(ServiceError::QuotaExceeded { detail, .. }) => return Ok(Err(failed(number, email, FieldErrors::single("quota", detail)))),
            Err(other) => return Err(other),
        }
        // An account that exists elsewhere is never joined without its owner's consent: it
        // is invited, whatever the mode.
        let invite = context.options.mode == ImportMode::Invite || existing.is_some();
        Ok(Ok(PlannedRow { role, invite }))
    }

    /// Imports a row in `tx`: [`Services::plan_row`], then the invitation or account it
    /// plans. A row that fails its checks writes nothing; a database error aborts the
    /// caller's transaction. `seats` starts as `None` for each transaction: the tenant is
    /// locked and its seats counted at the transaction's first row, and the lock holds until
    /// it ends, so the count carried from one row to the next stays true.
    pub(crate) async fn import_row_in(&self, tx: &mut Tx, context: &ImportContext<'_>, number: usize, row: &CheckedRow, seats: &mut Option<Room>) -> ServiceResult<RowResult> {
        let room = match seats {
            Some(room) => room,
            None => {
                let tenant_row = tx.lock_tenant_row(context.tenant).await?.ok_or(ServiceError::NotFound)?;
                seats.insert(self.room_in(tx, &tenant_row, &crate::domain::Resource::users()).await?)
            }
        };
        let PlannedRow { role, invite } = match self.plan_row(tx, context, number, row, room).await? {
            Ok(planned) => planned,
            Err(result) => return Ok(result),
        };
        let email = Some(row.email.as_str().to_owned());
        let status = if invite { RowStatus::Invited } else { RowStatus::Created };
        if invite {
            let by = context.by;
            let issued = match self.create_invitation_quietly(tx, context.tenant, &row.email, role.as_ref(), by, context.options.send_welcome_emails).await {
                Ok(issued) => issued,
                Err(ServiceError::RateLimited { .. }) => {
                    return Ok(failed(number, email, FieldErrors::single("email", "Too many invitations went to this address in the last hour; import this row again later.")))
                }
                Err(other) => return Err(other),
            };
            context
                .audit()
                .write(tx, Some(context.tenant), AuditAction::InvitationCreated, "invitation", Some(issued.invitation.id.to_string()),
                    json!({"email": row.email.as_str(), "role": role.as_ref().map(RoleName::as_str), "via": "import"}))
                .await?;
        } else {
            let at = now();
            let hash = unusable_password();
            let new_user = NewUser { id: UserId::new(), email: &row.email, password_hash: &hash, first_name: &row.first_name, last_name: &row.last_name, is_superuser: false };
            let user = match tx.insert_user(new_user, at).await {
                Ok(user) => user,
                Err(e) if is_unique_violation(&e) => return Ok(RowResult { row: number, email, status: RowStatus::Exists, errors: None }),
                Err(e) => return Err(e.into()),
            };
            tx.insert_membership(context.tenant, user.id, at).await?;
            if let Some(role) = &role {
                tx.assign_role(context.tenant, user.id, role, context.by, at).await?;
            }
            context
                .audit()
                .write(tx, Some(context.tenant), AuditAction::UserCreated, "user", Some(user.id.to_string()),
                    json!({"email": user.email, "role": role.as_ref().map(RoleName::as_str), "via": "import"}))
                .await?;
            if context.options.send_welcome_emails {
                let ttl = std::time::Duration::from_secs(7 * 86_400);
                let link = self.new_reset_link(tx, user.id, ttl).await?;
                let how = format!("by an administrator of {}", context.tenant_name);
                let mut mail = templates::account_created(&user.email, &how, &link, 7);
                mail.tenant_id = Some(context.tenant);
                self.enqueue_mail(tx, mail).await?;
            }
        }
        room.took(1);
        Ok(RowResult { row: number, email, status, errors: None })
    }
}

/// What [`Services::plan_row`] decided for a row that passed its checks.
pub(crate) struct PlannedRow {
    pub role: Option<RoleName>,
    /// Invite the person (rather than create an account).
    pub invite: bool,
}

/// Reads an import CSV: a header row naming `email` (required), and any of `full_name`,
/// `first_name`, `last_name`, `role` (`username` and unknown columns are accepted and
/// ignored). Returns the rows, or what is wrong with the file as a whole.
pub fn rows_from_csv(reader: impl std::io::Read) -> Result<Vec<ImportRow>, String> {
    let mut rows = Vec::new();
    read_csv(reader, |row| {
        rows.push(row);
        if rows.len() > MAX_ROWS {
            return Err(format!("An import carries at most {MAX_ROWS} rows."));
        }
        Ok(())
    })?;
    Ok(rows)
}

/// [`rows_from_csv`] one row at a time (the CLI streams large files).
pub fn read_csv(reader: impl std::io::Read, mut each: impl FnMut(ImportRow) -> Result<(), String>) -> Result<(), String> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(reader);
    let headers = csv.headers().map_err(|e| format!("The file is not CSV: {e}"))?.clone();
    let column = |name: &str| headers.iter().position(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(name));
    let email = column("email").ok_or("The first line must be a header naming an email column (email,full_name,role).")?;
    let (full_name, first_name, last_name, role) = (column("full_name"), column("first_name"), column("last_name"), column("role"));
    for (index, record) in csv.records().enumerate() {
        let record = record.map_err(|e| format!("Line {} is not valid CSV: {e}", index + 2))?;
        if record.iter().all(|field| field.is_empty()) {
            continue;
        }
        let get = |at: Option<usize>| at.and_then(|i| record.get(i)).filter(|v| !v.is_empty()).map(str::to_owned);
        let mut row = ImportRow::with_full_name(get(Some(email)), get(full_name).as_deref(), get(role));
        if let Some(first) = get(first_name) {
            row.first_name = Some(first);
        }
        if let Some(last) = get(last_name) {
            row.last_name = Some(last);
        }
        each(row)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_need_an_email_header_and_split_full_names() {
        let file = "\u{feff}Email,full_name,role,username\nada@example.com, Ada King Lovelace ,developer,ada\n\n bob@example.com,Bob,,bobby\ncarol@example.com\n";
        let rows = rows_from_csv(file.as_bytes()).unwrap();
        assert_eq!(rows.len(), 3, "blank lines are skipped; short lines are fine");
        assert_eq!(rows[0].email.as_deref(), Some("ada@example.com"));
        assert_eq!(rows[0].first_name.as_deref(), Some("Ada"));
        assert_eq!(rows[0].last_name.as_deref(), Some("King Lovelace"));
        assert_eq!(rows[0].role.as_deref(), Some("developer"));
        assert_eq!((rows[1].first_name.as_deref(), rows[1].last_name.as_deref(), rows[1].role.as_deref()), (Some("Bob"), None, None));
        assert_eq!(rows[2].first_name, None);
        assert!(rows_from_csv("name,role\nx,y\n".as_bytes()).unwrap_err().contains("email column"));
        assert!(rows_from_csv("".as_bytes()).is_err());
        let split = rows_from_csv("email,first_name,last_name\nx@example.com,Grace,Hopper\n".as_bytes()).unwrap();
        assert_eq!((split[0].first_name.as_deref(), split[0].last_name.as_deref()), (Some("Grace"), Some("Hopper")));
    }

    #[test]
    fn rows_check_every_field_and_repeats_name_the_first_row() {
        let good = ImportRow { email: Some(" Ada@Example.com ".into()), role: Some("ANALYST".into()), ..Default::default() };
        let checked = check_row(&good).unwrap();
        assert_eq!(checked.email.as_str(), "ada@example.com");
        assert_eq!(checked.role.as_deref(), Some("ANALYST"));
        let bad = ImportRow { email: Some("nope".into()), role: Some("no way".into()), first_name: Some("x\u{7}".into()), ..Default::default() };
        let errors = check_row(&bad).unwrap_err();
        assert!(errors.get("email").is_some() && errors.get("role").is_some() && errors.get("first_name").is_some());
        assert_eq!(check_row(&ImportRow::default()).unwrap_err().get("email").unwrap(), [crate::domain::REQUIRED]);
        let unreadable = ImportRow::from_json(&serde_json::json!({"email": 5}));
        assert!(check_row(&unreadable).unwrap_err().get("row").unwrap()[0].contains("email"));
        assert!(ImportRow::from_json(&serde_json::json!("ada@example.com")).unreadable.is_some());
        let rows: Vec<ImportRow> = ["a@x.com", "b@x.com", "A@X.com", "bad", "b@x.com"]
            .iter()
            .map(|e| ImportRow { email: Some(e.to_string()), ..Default::default() })
            .collect();
        let repeated = duplicates(&rows);
        assert_eq!(repeated.len(), 2);
        assert_eq!(repeated[&3], 1);
        assert_eq!(repeated[&5], 2);
        assert!(duplicate_error(1).get("email").unwrap()[0].contains("row 1"));
    }

    #[test]
    fn options_default_to_inviting_with_mail_and_report_bad_values() {
        let mut errors = FieldErrors::new();
        let options = parse_options(&ImportInput::default(), &mut errors).unwrap();
        assert_eq!(options, ImportOptions { mode: ImportMode::Invite, send_welcome_emails: true, generate_passwords: false });
        let input = ImportInput { mode: Raw::text("CREATE"), send_welcome_emails: Raw::text("false"), generate_passwords: Raw::text("on"), ..Default::default() };
        let options = parse_options(&input, &mut errors).unwrap();
        assert_eq!(options, ImportOptions { mode: ImportMode::Create, send_welcome_emails: false, generate_passwords: true });
        assert!(errors.is_empty());
        let bad = ImportInput { mode: Raw::text("merge"), send_welcome_emails: Raw::text("maybe"), ..Default::default() };
        assert!(parse_options(&bad, &mut errors).is_none());
        assert!(errors.get("mode").is_some() && errors.get("send_welcome_emails").is_some());
    }
}
