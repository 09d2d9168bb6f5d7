//! Test support shared by the service tests here and the API tests in the server crate:
//! a fresh database per test on the backend named by `TENANTRY_TEST_DB` (`sqlite`, the
//! default, or `postgres`, on `TEST_POSTGRES_URL`, default the local server).

use std::collections::HashMap;

use crate::{config::Config, service::Services, store::Db};

pub fn backend() -> String {
    std::env::var("TENANTRY_TEST_DB").unwrap_or_else(|_| "sqlite".into())
}

/// A database URL nobody else uses: a new SQLite file, or a new PostgreSQL database.
pub async fn fresh_database_url() -> String {
    let name = format!("tenantry_test_{}", uuid::Uuid::new_v4().simple());
    if backend() == "postgres" {
        let admin = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let pool = sqlx::PgPool::connect(&admin).await.unwrap_or_else(|e| panic!("PostgreSQL at {admin} is not reachable: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.expect("create test database");
        pool.close().await;
        let (base, _) = admin.rsplit_once('/').expect("TEST_POSTGRES_URL ends with /database");
        format!("{base}/{name}")
    } else {
        let dir = std::env::temp_dir().join("tenantry-tests");
        std::fs::create_dir_all(&dir).expect("temp dir");
        format!("sqlite://{}?mode=rwc", dir.join(format!("{name}.sqlite")).display())
    }
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
    let db = Db::connect(&url).await.expect("connect test database");
    db.migrate().await.expect("migrate test database");
    Services::new(db, config(&url, extra))
}
