//! `enable-rls`: prints the SQL it runs, applies it, and warns when the role would bypass it.

use std::process::{Command, Output};

use tenantry::{store::rls::{TENANT_TABLES, TENANT_TABLES_WITH_SHARED_ROW}, testing};

fn tenantry(database_url: &str, args: &[&str]) -> (Output, String, String) {
    let dir = std::env::temp_dir().join("tenantry-tests").join(format!("rls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tenantry-server"))
        .args(args)
        .current_dir(&dir)
        .env("SECRET_KEY", "test-secret-key-that-is-long-enough-for-hs256")
        .env("DATABASE_URL", database_url)
        .output()
        .expect("run tenantry-server");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

/// A simple query (no prepared statement), so it also works on a plain connection through the
/// transaction-pooling PgBouncer of `.ci/pgbouncer`.
async fn forced_tables(database_url: &str) -> Vec<String> {
    use sqlx::Row;
    let pool = sqlx::PgPool::connect(database_url).await.unwrap();
    let rows = sqlx::raw_sql(
        "SELECT c.relname::text FROM pg_class c JOIN pg_policies p ON p.tablename = c.relname \
         WHERE c.relrowsecurity AND c.relforcerowsecurity AND p.policyname = 'tenant_isolation' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.iter().map(|row| row.get::<String, _>(0)).collect()
}

#[tokio::test]
async fn enable_rls_prints_and_applies_a_forced_policy_per_tenant_table_and_disable_removes_them() {
    if testing::backend() != "postgres" {
        return;
    }
    let url = testing::fresh_postgres_url(true).await;
    let run = |args: &'static [&'static str]| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || tenantry(&url, args))
    };

    let (output, stdout, stderr) = run(&["enable-rls"]).await.unwrap();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let mut expected: Vec<String> = TENANT_TABLES.iter().chain(TENANT_TABLES_WITH_SHARED_ROW).map(|(t, _)| t.to_string()).collect();
    expected.sort();
    for table in &expected {
        assert!(stdout.contains(&format!("CREATE POLICY tenant_isolation ON {table}")), "{table} missing from:\n{stdout}");
    }
    assert!(!stderr.contains("warning"), "an ordinary role is bound by the policies: {stderr}");
    assert_eq!(forced_tables(&url).await, expected);

    // Idempotent.
    let (output, _, stderr) = run(&["enable-rls"]).await.unwrap();
    assert!(output.status.success(), "{stderr}");
    assert_eq!(forced_tables(&url).await, expected);

    let (output, stdout, stderr) = run(&["enable-rls", "--disable"]).await.unwrap();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("DROP POLICY IF EXISTS tenant_isolation ON memberships"), "{stdout}");
    assert!(forced_tables(&url).await.is_empty());
}

#[tokio::test]
async fn enable_rls_warns_that_a_superuser_is_not_bound_and_refuses_sqlite() {
    if testing::backend() != "postgres" {
        return;
    }
    let url = testing::fresh_postgres_url(false).await; // connects as the superuser
    let (output, _, stderr) = tokio::task::spawn_blocking(move || tenantry(&url, &["enable-rls"])).await.unwrap();
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("superuser or has BYPASSRLS"), "{stderr}");

    let sqlite = format!("sqlite://{}?mode=rwc", std::env::temp_dir().join(format!("rls-{}.sqlite", uuid::Uuid::new_v4().simple())).display());
    let (output, _, stderr) = tokio::task::spawn_blocking(move || tenantry(&sqlite, &["enable-rls"])).await.unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("needs PostgreSQL"), "{stderr}");
}
