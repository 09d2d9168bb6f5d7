//! `api-key …` and `import-users` through the real binary.

use std::process::{Command, Output};

use tenantry::testing;

fn tenantry(database_url: &str, args: &[&str]) -> (Output, String, String) {
    let dir = std::env::temp_dir().join("tenantry-tests").join(format!("cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tenantry-server"))
        .args(args)
        .current_dir(&dir)
        .env("SECRET_KEY", "test-secret-key-that-is-long-enough-for-hs256")
        .env("DATABASE_URL", database_url)
        .env("RATE_LIMIT_DISABLED", "1")
        .output()
        .expect("run tenantry-server");
    (output.clone(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// A migrated database with one signed-up tenant; its URL and slug.
async fn database_with_tenant() -> (String, String, tenantry::service::Services) {
    let url = testing::fresh_database_url().await;
    let services = tenantry::service::Services::start(testing::config(&url, &[])).await.unwrap();
    let input = tenantry::service::SignUpInput {
        name: tenantry::service::Raw::text("Acme Corp"),
        admin_email: tenantry::service::Raw::text("owner@acme.test"),
        admin_password: tenantry::service::Raw::text("correct horse battery"),
        ..Default::default()
    };
    let outcome = services.sign_up(input, &Default::default()).await.unwrap();
    (url, outcome.tenant.slug, services)
}

#[tokio::test]
async fn api_keys_are_made_listed_and_revoked_from_the_command_line() {
    let (url, slug, services) = database_with_tenant().await;
    let (out, stdout, stderr) = tenantry(&url, &["api-key", "create", "--tenant", &slug, "--name", "Deploy", "--scope", "members:read", "--expires-days", "30"]);
    assert!(out.status.success(), "{stderr}");
    let key = stdout.trim().to_owned();
    assert!(key.starts_with("tnt_") && key.len() == 47, "only the key on stdout: {stdout:?}");
    assert!(stderr.contains("owner@acme.test") && stderr.contains("members:read"), "{stderr}");
    let actor = services.actor_from_api_key(&key, &Default::default()).await.unwrap();
    assert!(actor.can(tenantry::domain::Permission::MembersRead) && !actor.can(tenantry::domain::Permission::MembersWrite));
    let (out, listed, _) = tenantry(&url, &["api-key", "list", "--tenant", &slug]);
    assert!(out.status.success());
    assert!(listed.contains("Deploy") && listed.contains(&key[..10]) && !listed.contains(&key[10..]), "{listed}");
    let id = listed.split_whitespace().next().unwrap().to_owned();
    let (out, revoked, _) = tenantry(&url, &["api-key", "revoke", &id]);
    assert!(out.status.success() && revoked.contains("revoked"), "{revoked}");
    assert!(services.actor_from_api_key(&key, &Default::default()).await.is_err());
    // Bad scopes, an unknown tenant: a message and a failing exit status.
    let (out, _, stderr) = tenantry(&url, &["api-key", "create", "--tenant", &slug, "--name", "x", "--scope", "nope:read"]);
    assert!(!out.status.success() && stderr.contains("nope:read"), "{stderr}");
    let (out, _, stderr) = tenantry(&url, &["api-key", "list", "--tenant", "no-such-tenant"]);
    assert!(!out.status.success() && stderr.contains("not found"), "{stderr}");
}

#[tokio::test]
async fn import_users_dry_runs_writing_nothing_then_imports_and_reports_each_failure() {
    let (url, slug, services) = database_with_tenant().await;
    let dir = std::env::temp_dir().join("tenantry-tests").join(format!("csv-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("people.csv");
    let mut csv = String::from("email,full_name,role,username\n");
    for i in 0..150 {
        csv.push_str(&format!("person{i}@example.com,Person {i},VIEWER,p{i}\n"));
    }
    csv.push_str("owner@acme.test,The Owner,,\nnot-an-email,,,\nperson1@example.com,Again,,\n");
    std::fs::write(&file, csv).unwrap();
    let outbox = || async {
        let mut tx = services.db().read().await.unwrap();
        tx.outbox().await.unwrap().len()
    };
    let before = outbox().await;
    let (out, stdout, _) = tenantry(&url, &["import-users", "--tenant", &slug, file.to_str().unwrap(), "--dry-run"]);
    assert!(!out.status.success(), "two rows fail, so the exit status says so");
    assert!(stdout.contains("Dry run") && stdout.contains("Successful: 150") && stdout.contains("Failed: 2") && stdout.contains("Skipped (exists): 1"), "{stdout}");
    assert!(stdout.contains("row 152 (not-an-email)") && stdout.contains("already in row 2"), "{stdout}");
    assert_eq!(outbox().await, before, "a dry run writes nothing");
    let (out, stdout, stderr) = tenantry(&url, &["import-users", "--tenant", &slug, file.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stdout.contains("Successful: 150 (invited 150, created 0)") && stdout.contains("Failed: 2"), "{stdout}\n{stderr}");
    assert!(stderr.contains("153/153 rows"), "plain progress lines when not on a terminal: {stderr}");
    assert_eq!(outbox().await, before + 150, "one invitation each");
    // Again: everyone exists, nobody is mailed twice.
    let (_, stdout, _) = tenantry(&url, &["import-users", "--tenant", &slug, file.to_str().unwrap()]);
    assert!(stdout.contains("Successful: 0") && stdout.contains("Skipped (exists): 151"), "{stdout}");
    assert_eq!(outbox().await, before + 150);
}
