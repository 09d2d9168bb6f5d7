//! A list page read as one row: the number of matching rows and the page itself as one JSON
//! array, built by the database in a single statement.
//!
//! Why: the SQLite driver hands the rows of a result from its worker thread to the async side
//! one at a time, so a full 100-row page cost more in hand-overs than in the query, and the
//! count was a second statement (on PostgreSQL a second round trip, and behind a transaction
//! pooler a parse as well). Here a page is one statement, one row, decoded with serde.
//!
//! The two backends spell the JSON differently, and the row types' `Deserialize` impls accept
//! both: UUIDs are hex text (`lower(hex(blob))`) on SQLite and hyphenated on PostgreSQL,
//! flags are `0`/`1` on SQLite and booleans on PostgreSQL, and timestamps are the RFC 3339 text
//! SQLite stores or PostgreSQL's ISO 8601 rendering of a `timestamptz`.

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Deserialize, Deserializer};

use super::{on, Backend, List, ListVersion, Listed, PageRequest, Reader};
use crate::domain::{AuditAction, RoleName, TenantId};

/// How a column of a page is carried into JSON where the backends differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Text, numbers, flags and timestamps: as the database renders them.
    Plain,
    /// A UUID (a blob on SQLite).
    Uuid,
    /// A JSON document (text on SQLite, which would otherwise arrive as a string).
    Json,
}

/// One column of a page: its name in the JSON and the SQL expression that computes it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column<'a> {
    pub name: &'static str,
    pub expr: &'a str,
    pub kind: Kind,
}

pub(crate) const fn plain<'a>(name: &'static str, expr: &'a str) -> Column<'a> {
    Column { name, expr, kind: Kind::Plain }
}

pub(crate) const fn uuid<'a>(name: &'static str, expr: &'a str) -> Column<'a> {
    Column { name, expr, kind: Kind::Uuid }
}

pub(crate) const fn json<'a>(name: &'static str, expr: &'a str) -> Column<'a> {
    Column { name, expr, kind: Kind::Json }
}

/// The [`ListVersion`] of `list` in the tenant `tenant` (SQL) names: the sum of the changes
/// its tables have seen in the tenant's row of `list_stats`, plus the nil tenant's
/// `users_changes` for a list that shows accounts. Every number only ever rises, so the sum
/// changes whenever one of them does. Each row is a primary-key read of its own: SQLite ran
/// `tenant_id IN ($1, nil)` as a scan of the whole table (half a millisecond with 10,000
/// tenants, more than the rest of a request).
pub(crate) fn version_sql(backend: Backend, list: List, tenant: &str) -> String {
    let (tables, accounts) = list.sources();
    let of = |id: &str, sum: &str| format!("COALESCE((SELECT {sum} FROM list_stats WHERE tenant_id = {id}), 0)");
    let own = of(tenant, &tables.iter().map(|t| format!("{t}_changes")).collect::<Vec<_>>().join(" + "));
    if !accounts {
        return format!("SELECT CAST({own} AS BIGINT)");
    }
    let nil = match backend {
        Backend::Postgres => "'00000000-0000-0000-0000-000000000000'",
        Backend::Sqlite => "X'00000000000000000000000000000000'",
    };
    format!("SELECT CAST({own} + {} AS BIGINT)", of(nil, "users_changes"))
}

/// How many rows of `table` the tenant `tenant` (SQL) names has, as `list_stats` keeps it
/// (migration 0023): the total of an unfiltered list in one primary-key read, where counting
/// grew with the list (a tenant's 100,000 invitations were most of the cost of its first page).
/// `table` is one of those `list_stats` counts: memberships, user_roles, invitations, audit_log.
pub(crate) fn kept_total_sql(table: &str, tenant: &str) -> String {
    format!("SELECT COALESCE((SELECT {table}_rows FROM list_stats WHERE tenant_id = {tenant}), 0)")
}

/// The statement: `SELECT version, total, page` where `version` is the [`ListVersion`] of
/// `list` in the tenant bound as `$1`, `total` the single value of `count` and `page` a JSON array of
/// `columns` over `rows` (the `FROM … WHERE … ORDER BY … LIMIT …` of the page). One statement
/// reads all three from one snapshot, so the page is exactly what that version shows. The
/// halves may use the same bind parameters. Every piece is spliced, so each is SQL of ours,
/// never input.
pub(crate) fn sql(backend: Backend, list: List, columns: &[Column<'_>], rows: &str, count: &str) -> String {
    let select = columns.iter().map(|c| format!("{} AS {}", c.expr, c.name)).collect::<Vec<_>>().join(", ");
    let version = version_sql(backend, list, "$1");
    match backend {
        // PostgreSQL renders a row of a subquery as an object by itself, with uuid, bool,
        // timestamptz and jsonb in their JSON forms.
        Backend::Postgres => format!("SELECT ({version}) AS version, ({count}) AS total, (SELECT json_agg(p) FROM (SELECT {select} {rows}) p)::text AS page"),
        Backend::Sqlite => {
            let fields = columns
                .iter()
                .map(|c| {
                    let value = match c.kind {
                        Kind::Plain => format!("p.{}", c.name),
                        // hex(NULL) is '' in SQLite, which must stay null.
                        Kind::Uuid => format!("nullif(lower(hex(p.{})), '')", c.name),
                        Kind::Json => format!("json(p.{})", c.name),
                    };
                    format!("'{}', {value}", c.name)
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!("SELECT ({version}) AS version, ({count}) AS total, (SELECT json_group_array(json_object({fields})) FROM (SELECT {select} {rows}) p) AS page")
        }
    }
}

/// `LIMIT $n`, and past the first page `OFFSET $n+1`: the first page binds no offset.
///
/// Why: PostgreSQL estimates a bound `OFFSET $n` as skipping a tenth of the rows, so a prepared
/// statement's reusable (generic) plan looked dearer than planning afresh, and the role
/// assignment and invitation pages were planned again on every view (a third of their cost in
/// the database). With no offset parameter the generic plan is chosen and reused; later pages,
/// rarer, keep the parameter and the planning. Bind them with [`bind_window`] (or, for a list
/// of arguments, the offset only when [`offset_bound`]).
pub(crate) fn limit_offset(page: PageRequest, n: usize) -> String {
    if offset_bound(page) { format!("LIMIT ${n} OFFSET ${}", n + 1) } else { format!("LIMIT ${n}") }
}

/// Binds the parameters [`limit_offset`] wrote: the limit, and the offset past the first page.
pub(crate) fn bind_window<'q, DB: sqlx::Database, O>(
    query: sqlx::query::QueryAs<'q, DB, O, <DB as sqlx::Database>::Arguments<'q>>,
    page: PageRequest,
) -> sqlx::query::QueryAs<'q, DB, O, <DB as sqlx::Database>::Arguments<'q>>
where
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let query = query.bind(page.limit());
    if offset_bound(page) { query.bind(page.offset()) } else { query }
}

/// Whether [`limit_offset`] asked for an offset parameter.
pub(crate) fn offset_bound(page: PageRequest) -> bool {
    page.offset() > 0
}

impl Reader {
    /// The [`ListVersion`] of `list` in the tenant now, in a primary-key read or two, so that a
    /// page kept from an earlier read can be checked for being current without reading it again.
    #[tracing::instrument(skip_all)]
    pub async fn list_version(&mut self, list: List, tenant: TenantId) -> Result<ListVersion, sqlx::Error> {
        let sql = version_sql(self.backend(), list, "$1");
        on!(self, c => sqlx::query_scalar(&sql).bind(tenant).fetch_one(c).await).map(ListVersion)
    }
}

#[cfg(test)]
impl Reader {
    /// The tenant's rows of `table` as `list_stats` keeps them, and as counted.
    pub(crate) async fn kept_and_counted(&mut self, table: &str, tenant: TenantId) -> Result<(i64, i64), sqlx::Error> {
        let sql = format!("SELECT ({}), (SELECT COUNT(*) FROM {table} WHERE tenant_id = $1)", kept_total_sql(table, "$1"));
        on!(self, c => sqlx::query_as(&sql).bind(tenant).fetch_one(c).await)
    }
}

/// The rows of a page from its JSON (`None`: PostgreSQL's aggregate over no rows).
fn rows<T: DeserializeOwned>(page: Option<String>) -> Result<Vec<T>, sqlx::Error> {
    match page {
        Some(json) => serde_json::from_str(&json).map_err(|e| sqlx::Error::Decode(Box::new(e))),
        None => Ok(Vec::new()),
    }
}

/// The rows, sorted by `order`, and the total of the one row a [`sql`] statement returns. The
/// subquery ordered the rows already and an aggregate keeps that order in practice, but SQL
/// does not promise it; a page is small, so it is sorted again here.
pub(crate) fn decode<T: DeserializeOwned>(
    (version, total, page): (i64, i64, Option<String>),
    order: impl FnMut(&T, &T) -> std::cmp::Ordering,
) -> Result<Listed<T>, sqlx::Error> {
    let mut rows = rows(page)?;
    rows.sort_by(order);
    Ok(Listed { rows, total, version: ListVersion(version) })
}

/// A flag: SQLite's JSON has no booleans (0/1); PostgreSQL's has.
pub(crate) fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Bool(b) => Ok(b),
        serde_json::Value::Number(n) => Ok(n.as_i64() != Some(0)),
        other => Err(serde::de::Error::custom(format!("expected a flag, got {other}"))),
    }
}

/// A timestamp as either backend writes it into JSON.
pub(crate) fn time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_time(&text).ok_or_else(|| serde::de::Error::custom(format!("not a timestamp: {text}")))
}

/// An optional timestamp as either backend writes it into JSON.
pub(crate) fn optional_time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        Some(text) => parse_time(&text).map(Some).ok_or_else(|| serde::de::Error::custom(format!("not a timestamp: {text}"))),
        None => Ok(None),
    }
}

/// An audit action by its stored name.
pub(crate) fn action<'de, D: Deserializer<'de>>(deserializer: D) -> Result<AuditAction, D::Error> {
    String::deserialize(deserializer).map(|name| AuditAction::from_stored(&name))
}

/// An optional role by its stored name (written by this service, so not validated again).
pub(crate) fn optional_role<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<RoleName>, D::Error> {
    Option::<String>::deserialize(deserializer).map(|name| name.as_deref().map(RoleName::from_stored))
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%#z"))
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Row {
        id: uuid::Uuid,
        #[serde(deserialize_with = "flag")]
        on: bool,
        #[serde(deserialize_with = "time")]
        at: DateTime<Utc>,
        #[serde(deserialize_with = "optional_time")]
        until: Option<DateTime<Utc>>,
    }

    #[test]
    fn both_backends_spellings_decode_to_the_same_row() {
        let sqlite = r#"[{"id":"0b7e2c1e9a8d4f5e8c3b2a1908070605","on":1,"at":"2026-12-04T19:07:40.123456+00:00","until":null}]"#;
        let postgres = r#"[{"id":"0b7e2c1e-9a8d-4f5e-8c3b-2a1908070605","on":true,"at":"2026-12-04T19:07:40.123456+00:00","until":null}]"#;
        let a: Vec<Row> = rows(Some(sqlite.into())).unwrap();
        let b: Vec<Row> = rows(Some(postgres.into())).unwrap();
        assert_eq!(a, b);
        assert!(a[0].on);
        assert_eq!(a[0].at.timestamp_subsec_micros(), 123_456);
        let off: Vec<Row> = rows(Some(r#"[{"id":"0b7e2c1e9a8d4f5e8c3b2a1908070605","on":0,"at":"2026-12-04 19:07:40+00","until":"2026-12-05T00:00:00Z"}]"#.into())).unwrap();
        assert!(!off[0].on);
        assert_eq!(off[0].until.unwrap().to_rfc3339(), "2026-12-05T00:00:00+00:00");
        assert_eq!(off[0].at.to_rfc3339(), "2026-12-04T19:07:40+00:00");
    }

    #[test]
    fn a_page_comes_back_in_the_order_asked_for_with_its_total() {
        let json = r#"[{"id":"00000000000000000000000000000002","on":1,"at":"2026-12-04T19:00:00Z","until":null},
                       {"id":"00000000000000000000000000000001","on":1,"at":"2026-12-04T19:00:00Z","until":null}]"#;
        let page = decode((3, 7, Some(json.into())), |a: &Row, b| a.id.cmp(&b.id)).unwrap();
        assert_eq!((page.total, page.version), (7, ListVersion(3)));
        assert_eq!(page.rows.iter().map(|r| r.id.as_u128()).collect::<Vec<_>>(), vec![1, 2]);
        let empty = decode::<Row>((0, 0, None), |a, b| a.id.cmp(&b.id)).unwrap();
        assert!(empty.rows.is_empty());
        assert_eq!(empty.total, 0);
    }

    /// The first page's statement has no offset parameter (so PostgreSQL can keep one plan for
    /// it); any later page's has one, bound after the limit.
    #[test]
    fn only_pages_after_the_first_bind_an_offset() {
        let first = PageRequest::first();
        assert_eq!(limit_offset(first, 4), "LIMIT $4");
        assert!(!offset_bound(first));
        let second = PageRequest { page: 2, page_size: 1 };
        assert_eq!(limit_offset(second, 4), "LIMIT $4 OFFSET $5");
        assert!(offset_bound(second));
    }

    #[test]
    fn no_rows_and_bad_rows() {
        assert!(rows::<Row>(None).unwrap().is_empty());
        assert!(rows::<Row>(Some("[]".into())).unwrap().is_empty());
        assert!(rows::<Row>(Some(r#"[{"id":"x","on":1,"at":"2026-12-04T19:07:40Z","until":null}]"#.into())).is_err());
        assert!(rows::<Row>(Some(r#"[{"id":"0b7e2c1e9a8d4f5e8c3b2a1908070605","on":"yes","at":"2026-12-04T19:07:40Z","until":null}]"#.into())).is_err());
        assert!(rows::<Row>(Some(r#"[{"id":"0b7e2c1e9a8d4f5e8c3b2a1908070605","on":1,"at":"yesterday","until":null}]"#.into())).is_err());
    }

    #[test]
    fn the_sqlite_statement_converts_what_sqlite_cannot_render() {
        let columns = [uuid("id", "r.id"), plain("email", "u.email"), json("metadata", "r.metadata")];
        let sql = sql(Backend::Sqlite, List::Audit, &columns, "FROM r WHERE r.t = $1 LIMIT $2", "SELECT COUNT(*) FROM r WHERE r.t = $1");
        assert!(sql.contains("'id', nullif(lower(hex(p.id)), '')"), "{sql}");
        assert!(sql.contains("'email', p.email"), "{sql}");
        assert!(sql.contains("'metadata', json(p.metadata)"), "{sql}");
        assert!(sql.contains("SELECT r.id AS id, u.email AS email, r.metadata AS metadata FROM r WHERE r.t = $1 LIMIT $2"), "{sql}");
        let pg = super::sql(Backend::Postgres, List::Audit, &columns, "FROM r LIMIT $2", "SELECT 1");
        assert!(pg.contains(") AS version, (SELECT 1) AS total, (SELECT json_agg(p) FROM (SELECT r.id AS id"), "{pg}");
    }

    /// Each list adds up the numbers of the tables it reads, and only those: an invitation
    /// sent (`invitations_changes` and `audit_log_changes`) leaves the members page current.
    #[test]
    fn a_lists_version_adds_up_the_tables_it_reads_and_accounts_where_it_shows_them() {
        let members = version_sql(Backend::Postgres, List::Members, "$1");
        assert_eq!(
            members,
            "SELECT CAST(COALESCE((SELECT memberships_changes + user_roles_changes FROM list_stats WHERE tenant_id = $1), 0) + \
             COALESCE((SELECT users_changes FROM list_stats WHERE tenant_id = '00000000-0000-0000-0000-000000000000'), 0) AS BIGINT)"
        );
        let audit = version_sql(Backend::Sqlite, List::Audit, "$1");
        assert_eq!(audit, "SELECT CAST(COALESCE((SELECT audit_log_changes FROM list_stats WHERE tenant_id = $1), 0) AS BIGINT)");
        let invitations = version_sql(Backend::Sqlite, List::Invitations, "$1");
        assert!(invitations.contains("SELECT invitations_changes + tenants_changes FROM") && invitations.contains("X'00000000000000000000000000000000'"), "{invitations}");
    }
}
