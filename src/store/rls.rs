//! Row-level security on PostgreSQL: the database itself refuses to show or accept another
//! tenant's rows, so a query that forgets its `WHERE tenant_id = …` still cannot leak.
//!
//! Every tenant-owned table gets one policy keyed by the setting `tenantry.tenant_id`:
//! - a tenant's UUID: only that tenant's rows are visible, and only such rows may be written;
//! - `*`: every tenant (sign-up, login, token redemption, the platform views, the mail worker:
//!   calls that are not inside one tenant);
//! - anything else, including unset or empty: nothing at all (fail closed).
//!
//! The store sets it for every connection it hands out ([`super::Db::read_in`] and friends), so
//! the policies are always in force; they only bind a role that is neither a superuser nor
//! `BYPASSRLS`, which is why the tables are also `FORCE`d (the owner is bound too).

/// The per-session/per-transaction setting the policies read.
pub const SCOPE_SETTING: &str = "tenantry.tenant_id";
/// The value of [`SCOPE_SETTING`] that lets a connection see every tenant.
pub const ALL_TENANTS: &str = "*";

/// The tenant-owned tables and the column naming their tenant. Account-level tables (`users`,
/// `refresh_tokens`, `password_reset_tokens`, `sessions`,
/// `password_history`, `totp_factors`, `recovery_codes`, `mfa_challenges`, `passkeys`,
/// `webauthn_ceremonies`) belong to a person,
/// not a tenant. Rows of `webhooks`, `webhook_events` and `webhook_deliveries` without a
/// tenant are the platform's: only the all-tenants scope sees them.
pub const TENANT_TABLES: &[(&str, &str)] = &[
    ("tenants", "id"),
    ("memberships", "tenant_id"),
    ("user_roles", "tenant_id"),
    ("invitations", "tenant_id"),
    ("audit_log", "tenant_id"),
    ("email_outbox", "tenant_id"),
    ("roles", "tenant_id"),
    ("api_keys", "tenant_id"),
    ("jobs", "tenant_id"),
    ("job_rows", "tenant_id"),
    ("tenant_usage", "tenant_id"),
    ("quota_alerts", "tenant_id"),
    ("tenant_invitation_counts", "tenant_id"),
    ("api_call_counts", "tenant_id"),
    ("tenant_security_policies", "tenant_id"),
    ("webhooks", "tenant_id"),
    ("webhook_events", "tenant_id"),
    ("webhook_deliveries", "tenant_id"),
    ("tenant_metrics_daily", "tenant_id"),
    ("tenant_active_users_daily", "tenant_id"),
];

/// Tenant-owned tables that also hold one row of the nil tenant, which every tenant reads and
/// writes: `list_stats` (migration 0023), whose nil row counts the changes to accounts that the
/// lists of every tenant show. Their policy is the tenant one with that row let through in
/// every scope, even none: it holds nothing of any tenant.
pub const TENANT_TABLES_WITH_SHARED_ROW: &[(&str, &str)] = &[("list_stats", "tenant_id")];

/// The tenant id of the shared row of [`TENANT_TABLES_WITH_SHARED_ROW`].
pub const SHARED_ROW_TENANT: &str = "00000000-0000-0000-0000-000000000000";

/// Every table [`enable_sql`] puts a policy on, with the condition a row must meet.
fn policies() -> impl Iterator<Item = (&'static str, String)> {
    let own = TENANT_TABLES.iter().map(|(table, column)| (*table, format!("tenantry_in_scope({column})")));
    let shared = TENANT_TABLES_WITH_SHARED_ROW
        .iter()
        .map(|(table, column)| (*table, format!("tenantry_in_scope({column}) OR {column} = '{SHARED_ROW_TENANT}'")));
    own.chain(shared)
}

/// The SQL that `enable-rls` prints and runs. Idempotent: running it again replaces the
/// policies with the same ones.
pub fn enable_sql() -> String {
    let mut sql = format!(
        "-- Row-level security for Tenantry: rows are visible only to the tenant named by {SCOPE_SETTING}\n\
         -- ('{ALL_TENANTS}' = every tenant; unset or empty = none).\n\
         CREATE OR REPLACE FUNCTION tenantry_in_scope(row_tenant uuid) RETURNS boolean\n    \
         LANGUAGE sql STABLE AS $$\n        \
         SELECT current_setting('{SCOPE_SETTING}', true) = '{ALL_TENANTS}'\n            \
         OR row_tenant::text = current_setting('{SCOPE_SETTING}', true)\n    $$;\n"
    );
    for (table, condition) in policies() {
        sql.push_str(&format!(
            "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;\n\
             ALTER TABLE {table} FORCE ROW LEVEL SECURITY;\n\
             DROP POLICY IF EXISTS tenant_isolation ON {table};\n\
             CREATE POLICY tenant_isolation ON {table}\n    \
             USING ({condition})\n    \
             WITH CHECK ({condition});\n"
        ));
    }
    sql
}

/// The SQL that turns the policies off again (`enable-rls --disable`).
pub fn disable_sql() -> String {
    let mut sql = String::from("-- Turns Tenantry's row-level security off.\n");
    for (table, _) in policies() {
        sql.push_str(&format!(
            "DROP POLICY IF EXISTS tenant_isolation ON {table};\n\
             ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;\n\
             ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;\n"
        ));
    }
    sql.push_str("DROP FUNCTION IF EXISTS tenantry_in_scope(uuid);\n");
    sql
}
