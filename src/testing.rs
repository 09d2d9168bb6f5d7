//! Test support shared by the service tests here and the API tests in the server crate:
//! a fresh database per test on the backend named by `TENANTRY_TEST_DB` (`sqlite`, the
//! default, or `postgres`, on `TEST_POSTGRES_URL`, default the local server).
//!
//! With `TENANTRY_TEST_RLS=1` on PostgreSQL, every test database is owned by, and the service
//! connects as, the ordinary role [`APP_ROLE`] (no SUPERUSER, no BYPASSRLS), and row-level
//! security is on: the whole suite then runs under the policies.
//!
//! With `TEST_PGBOUNCER=host:port` as well, the databases are still created on
//! `TEST_POSTGRES_URL`, but the service reaches them through the transaction-pooling PgBouncer
//! listening there (`?pooler=transaction`; `.ci/pgbouncer` runs the suite so).

use std::collections::HashMap;

use crate::{config::Config, service::Services, store::Db};

pub fn backend() -> String {
    std::env::var("TENANTRY_TEST_DB").unwrap_or_else(|_| "sqlite".into())
}

/// Whether the suite runs under row-level security (`TENANTRY_TEST_RLS=1`, PostgreSQL only).
pub fn rls() -> bool {
    backend() == "postgres" && std::env::var("TENANTRY_TEST_RLS").is_ok_and(|v| v == "1")
}

/// The ordinary role that owns the test databases in RLS mode.
pub const APP_ROLE: &str = "tenantry_app";

/// A database URL nobody else uses: a new SQLite file, or a new PostgreSQL database.
pub async fn fresh_database_url() -> String {
    if backend() == "postgres" {
        fresh_postgres_url(rls()).await
    } else {
        let dir = std::env::temp_dir().join("tenantry-tests");
        std::fs::create_dir_all(&dir).expect("temp dir");
        let name = format!("tenantry_test_{}", uuid::Uuid::new_v4().simple());
        format!("sqlite://{}?mode=rwc", dir.join(format!("{name}.sqlite")).display())
    }
}

/// The PgBouncer the suite reaches PostgreSQL through, if any (`TEST_PGBOUNCER=host:port`).
pub fn pgbouncer() -> Option<String> {
    std::env::var("TEST_PGBOUNCER").ok().filter(|v| !v.is_empty())
}

/// A new PostgreSQL database on `TEST_POSTGRES_URL`. With `as_app_role`, it is owned by
/// [`APP_ROLE`] (created if missing) and the URL connects as that role. Under
/// `TEST_PGBOUNCER`, the URL goes through that pooler.
pub async fn fresh_postgres_url(as_app_role: bool) -> String {
    let direct = fresh_direct_postgres_url(as_app_role).await;
    let Some(pooler) = pgbouncer() else { return direct };
    let (scheme, rest) = direct.split_once("://").expect("scheme://…");
    let (user, rest) = rest.rsplit_once('@').map_or(("", rest), |(user, rest)| (user, rest));
    let (_, database) = rest.split_once('/').expect("host/database");
    let at = if user.is_empty() { "" } else { "@" };
    format!("{scheme}://{user}{at}{pooler}/{database}?pooler=transaction")
}

/// [`fresh_postgres_url`] reaching PostgreSQL itself, whatever `TEST_PGBOUNCER` says.
pub async fn fresh_direct_postgres_url(as_app_role: bool) -> String {
    let name = format!("tenantry_test_{}", uuid::Uuid::new_v4().simple());
    let admin = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let pool = sqlx::PgPool::connect(&admin).await.unwrap_or_else(|e| panic!("PostgreSQL at {admin} is not reachable: {e}"));
    if as_app_role {
        // Tests run in parallel: a concurrent CREATE ROLE may win the race.
        sqlx::query(&format!(
            "DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        ))
        .execute(&pool)
        .await
        .expect("create the application role");
        sqlx::query(&format!("CREATE DATABASE {name} OWNER {APP_ROLE}")).execute(&pool).await.expect("create test database");
    } else {
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.expect("create test database");
    }
    pool.close().await;
    let (base, _) = admin.rsplit_once('/').expect("TEST_POSTGRES_URL ends with /database");
    if !as_app_role {
        return format!("{base}/{name}");
    }
    // Same server, other user: `scheme://[user[:password]@]host:port/…`.
    let (scheme, rest) = base.split_once("://").expect("TEST_POSTGRES_URL is scheme://…");
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{APP_ROLE}@{host}/{name}")
}

/// Services on a new PostgreSQL database owned by [`APP_ROLE`], migrated, with row-level
/// security on, whatever mode the suite runs in (for the tests that prove the policies).
pub async fn rls_services() -> Services {
    let url = fresh_postgres_url(true).await;
    start(&url, &[], true).await
}

/// Test configuration: a fixed secret, no rate limits, the given database.
pub fn config(database_url: &str, extra: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = [
        ("DATABASE_URL", database_url),
        ("SECRET_KEY", "test-secret-key-that-is-long-enough-for-hs256"),
        ("RATE_LIMIT_DISABLED", "1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    Config::from_lookup(|name| vars.get(name).cloned()).expect("test config is valid")
}

/// Services over a fresh, migrated database.
pub async fn services() -> Services {
    services_with(&[]).await
}

pub async fn services_with(extra: &[(&str, &str)]) -> Services {
    let url = fresh_database_url().await;
    start(&url, extra, rls()).await
}

async fn start(url: &str, extra: &[(&str, &str)], rls: bool) -> Services {
    let db = Db::connect(url).await.expect("connect test database");
    db.migrate().await.expect("migrate test database");
    if rls {
        db.set_row_level_security(true).await.expect("enable row-level security");
    }
    Services::new(db, config(url, extra))
}
