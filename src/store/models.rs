//! Rows as the service layer sees them.

use chrono::{DateTime, Utc};

use crate::domain::{AssignmentId, Grant, RoleName, TenantId, TenantStatus, UserId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub slug: String,
    pub status: TenantStatus,
    /// The tenant's plan; `None`: no plan, no limits.
    pub plan: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The partner (platform user) who provisioned this tenant, if any.
    pub created_by_partner: Option<UserId>,
    pub contact_email: Option<String>,
    pub phone_number: Option<String>,
    pub industry: Option<String>,
    /// Limits set for this tenant over its plan's: name → number, or `None` for unlimited.
    #[sqlx(try_from = "String")]
    pub limit_overrides: JsonColumn<std::collections::BTreeMap<String, Option<i64>>>,
    /// Features switched on or off for this tenant whatever its plan says.
    #[sqlx(try_from = "String")]
    pub feature_overrides: JsonColumn<std::collections::BTreeMap<String, bool>>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    #[sqlx(try_from = "String")]
    pub settings: JsonColumn<serde_json::Map<String, serde_json::Value>>,
    #[sqlx(try_from = "Option<String>")]
    pub branding: JsonColumn<Option<serde_json::Map<String, serde_json::Value>>>,
    pub custom_domain: Option<String>,
    /// When the tenant was deleted; it is purged a grace period later.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A JSON document kept as text (the same on both backends), decoded at the store's edge.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JsonColumn<T>(pub T);

impl<T: serde::de::DeserializeOwned> TryFrom<String> for JsonColumn<T> {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        serde_json::from_str(&value).map(JsonColumn).map_err(|e| format!("stored JSON: {e}"))
    }
}

impl<T: serde::de::DeserializeOwned> TryFrom<Option<String>> for JsonColumn<Option<T>> {
    type Error = String;

    fn try_from(value: Option<String>) -> Result<Self, Self::Error> {
        match value {
            None => Ok(JsonColumn(None)),
            Some(text) => serde_json::from_str(&text).map(|v| JsonColumn(Some(v))).map_err(|e| format!("stored JSON: {e}")),
        }
    }
}

/// A subscription plan: a row, editable by the platform.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Plan {
    pub name: String,
    pub display_name: String,
    pub price_monthly: Option<f64>,
    #[sqlx(try_from = "String")]
    pub limits: JsonColumn<std::collections::BTreeMap<String, i64>>,
    #[sqlx(try_from = "String")]
    pub features: JsonColumn<Vec<String>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a partner records about a tenant it provisions.
#[derive(Debug, Clone, Default)]
pub struct TenantContact {
    pub contact_email: Option<String>,
    pub phone_number: Option<String>,
    pub industry: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: UserId,
    pub email: String,
    #[sqlx(default)]
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub is_superuser: bool,
    pub is_active: bool,
    pub timezone: Option<String>,
    /// Bumped when the password is reset; sessions and access tokens carry the value they
    /// were issued under and stop working when it changes.
    pub auth_version: i32,
    /// A role on the platform outside any tenant (`PARTNER_ADMIN`).
    pub platform_role: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A user as seen from one tenant: the account plus the roles held there.
#[derive(Debug, Clone)]
pub struct Member {
    pub user: User,
    pub tenant_id: Option<TenantId>,
    pub roles: Vec<RoleName>,
    /// What the custom roles among `roles` grant (built-in roles grant what `policy` says).
    pub grants: Vec<Grant>,
}

/// One role held by one member of one tenant (a row, or an element of a JSON page).
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct Assignment {
    pub id: AssignmentId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub user_email: String,
    #[sqlx(try_from = "String")]
    pub role: RoleColumn,
    pub assigned_by: Option<UserId>,
    #[serde(deserialize_with = "super::json_page::time")]
    pub created_at: DateTime<Utc>,
}

/// A role name read from the database: built-in, or one of the tenant's own.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct RoleColumn(pub RoleName);

impl TryFrom<String> for RoleColumn {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Ok(RoleColumn(RoleName::from_stored(&value)))
    }
}

/// Grants read from the database (space-separated text).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GrantsColumn(pub Vec<Grant>);

impl TryFrom<String> for GrantsColumn {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Ok(GrantsColumn(crate::domain::grants_from_text(&value)))
    }
}

/// A role one tenant made itself, with how many members hold it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomRole {
    pub id: uuid::Uuid,
    pub tenant_id: TenantId,
    pub name: String,
    pub description: String,
    #[sqlx(try_from = "String")]
    pub permissions: GrantsColumn,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub member_count: i64,
}

/// One page of a list plus the total count, for the `{count, next, previous, results}`
/// envelope.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub count: i64,
    pub page: u32,
    pub page_size: u32,
}

impl<T> Page<T> {
    pub fn has_next(&self) -> bool {
        i64::from(self.page) * i64::from(self.page_size) < self.count
    }

    pub fn has_previous(&self) -> bool {
        self.page > 1
    }
}

/// Which page of a list: 1-based, 100 rows each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    pub page: u32,
    pub page_size: u32,
}

/// How far the rows one of a tenant's lists shows have changed (migration 0023): the sum of
/// the numbers of changes the database counts for each table the list reads, in the change's
/// transaction. A page read at one version is current while its list is still
/// at that version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ListVersion(pub i64);

/// The lists whose pages are kept while current (service::page_cache), each with the tables
/// whose changes it shows. An invitation sent leaves the members page current.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum List {
    /// Memberships, each member's roles, their accounts.
    Members,
    /// Role assignments and the accounts holding them.
    Assignments,
    /// Invitations, their tenant's name and state, their inviters' accounts.
    Invitations,
    /// Audit entries, which carry their actor's e-mail as it was.
    Audit,
}

impl List {
    /// The tables whose changes this list's version adds up from the tenant's row of
    /// `list_stats`, and whether it adds in account changes (the nil tenant's `users_changes`).
    pub(crate) fn sources(self) -> (&'static [&'static str], bool) {
        match self {
            List::Members => (&["memberships", "user_roles"], true),
            List::Assignments => (&["user_roles"], true),
            List::Invitations => (&["invitations", "tenants"], true),
            List::Audit => (&["audit_log"], false),
        }
    }
}

/// One page of a list as read: its rows, how many rows match in all, and the tenant's
/// [`ListVersion`] in the same snapshot.
#[derive(Debug, Clone)]
pub struct Listed<T> {
    pub rows: Vec<T>,
    pub total: i64,
    pub version: ListVersion,
}

impl PageRequest {
    pub const SIZE: u32 = 100;

    pub fn first() -> Self {
        Self { page: 1, page_size: Self::SIZE }
    }

    pub fn number(page: u32) -> Self {
        Self { page: page.max(1), page_size: Self::SIZE }
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.page_size)
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page.saturating_sub(1)) * i64::from(self.page_size)
    }
}
