//! `create-tenant`, `bulk-create-tenants`, `provision-from-config`, `delete-tenant` and
//! `restore-tenant` through the real binary.

use std::process::{Command, Output};

use tenantry::{service::Services, testing};

fn tenantry(database_url: &str, args: &[&str], env: &[(&str, &str)]) -> (Output, String, String) {
    let dir = std::env::temp_dir().join("tenantry-tests").join(format!("cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenantry-server"));
    command
        .args(args)
        .current_dir(&dir)
        .env("SECRET_KEY", "test-secret-key-that-is-long-enough-for-hs256")
        .env("DATABASE_URL", database_url)
        .env("RATE_LIMIT_DISABLED", "1")
        .env("RUST_LOG", "warn");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run tenantry-server");
    (output.clone(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

async fn database() -> (String, Services) {
    let url = testing::fresh_database_url().await;
    let services = Services::start(testing::config(&url, &[])).await.unwrap();
    (url, services)
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join("tenantry-tests").join(format!("files-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Tenants and queued mails: what a dry run must leave as it was.
async fn counts(services: &Services) -> (i64, usize) {
    let mut tx = services.db().read().await.unwrap();
    let tenants = tx.all_tenants(tenantry::store::PageRequest::first()).await.unwrap().1;
    (tenants, tx.outbox().await.unwrap().len())
}

#[tokio::test]
async fn create_tenant_prints_what_it_made_and_refuses_bad_input() {
    let (url, services) = database().await;
    let (out, stdout, stderr) = tenantry(&url, &["create-tenant", "Acme Corp", "acme-corp", "--plan", "professional", "--owner-email", "owner@acme.test",
        "--max-users", "40", "--storage-quota", "7", "--feature", "analytics=on", "--contact-email", "billing@acme.test"], &[]);
    assert!(out.status.success(), "{stderr}");
    let tenant = services.tenant_by_slug("acme-corp").await.unwrap();
    assert!(stdout.contains(&tenant.id.0.to_string()) && stdout.contains("slug: acme-corp") && stdout.contains("/login"), "{stdout}");
    assert!(stdout.contains("Invitation for owner@acme.test queued"), "{stdout}");
    assert_eq!(tenant.plan.as_deref(), Some("professional"));
    assert_eq!(tenant.limit_overrides.0.get("storage_quota_gb"), Some(&Some(7)));
    assert_eq!(tenant.feature_overrides.0.get("analytics"), Some(&true));
    assert_eq!(services.db().read().await.unwrap().outbox().await.unwrap().len(), 1, "the owner's invitation is queued for a server to deliver");

    let (out, stdout, stderr) = tenantry(&url, &["create-tenant", "Initech", "--owner-email", "boss@initech.test", "--owner-password-env", "OWNER_PASSWORD"],
        &[("OWNER_PASSWORD", "correct horse battery")]);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("Owner account boss@initech.test created") && !stderr.contains("shell history"), "{stdout}");
    let (out, _, stderr) = tenantry(&url, &["create-tenant", "Globex", "--owner-email", "boss@globex.test", "--owner-password", "correct horse battery"], &[]);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("shell history"), "a password on the command line is warned about: {stderr}");

    let (out, _, stderr) = tenantry(&url, &["create-tenant", "Nowhere", "--plan", "platinum"], &[]);
    assert!(!out.status.success() && stderr.contains("tenant.plan_type") && stderr.contains("platinum"), "{stderr}");
    let (out, _, stderr) = tenantry(&url, &["create-tenant", "acme corp", "acme-2"], &[]);
    assert!(!out.status.success() && stderr.contains("already exists"), "{stderr}");
    let (out, _, stderr) = tenantry(&url, &["create-tenant", "Flags", "--feature", "analytics=maybe"], &[]);
    assert!(!out.status.success() && stderr.contains("on or off"), "{stderr}");
    assert!(matches!(services.tenant_by_slug("nowhere").await, Err(tenantry::ServiceError::NotFound)));
}

#[tokio::test]
async fn bulk_create_tenants_dry_runs_then_makes_each_row_and_reports() {
    let (url, services) = database().await;
    // 10,000 rows, as the issue asks; more than 1,000, so the run prints progress lines (stderr
    // is not a terminal here).
    let mut csv = String::from("name,subdomain,plan,owner_email,contact_email,max_users,max_assets,max_devices,storage_quota_gb,custom_domain\n");
    for i in 0..10_000 {
        csv.push_str(&format!("Tenant {i},tenant-{i},basic,owner{i}@t{i}.test,,,,,,\n"));
    }
    csv.push_str("Bad Row,-bad-,,nope,,many,,,,\nCopy Cat,tenant-7,,,,,,,,\n");
    let file = temp_file("tenants.csv", &csv);
    let report = file.with_file_name("report.json");
    let before = counts(&services).await;

    let (out, stdout, stderr) = tenantry(&url, &["bulk-create-tenants", file.to_str().unwrap(), "--dry-run"], &[]);
    assert_eq!(out.status.code(), Some(1), "two rows fail: {stdout}\n{stderr}");
    assert!(stdout.contains("Dry run: nothing was written.") && stdout.contains("Successful: 10000") && stdout.contains("Failed: 2") && stdout.contains("Skipped (exists): 0"), "{stdout}");
    assert_eq!(counts(&services).await, before, "a dry run writes nothing");

    let (out, stdout, stderr) = tenantry(&url, &["bulk-create-tenants", file.to_str().unwrap(), "--report", report.to_str().unwrap(), "--concurrency", "3"], &[]);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stdout.contains("Successful: 10000") && stdout.contains("Failed: 2"), "{stdout}");
    assert!(stdout.contains("row 10002") && stdout.contains("owner_email:") && stdout.contains("max_users:"), "each failure with its reasons: {stdout}");
    assert!(stdout.contains("row 10003 (tenant-7)") && stdout.contains("earlier row"), "{stdout}");
    assert!(stderr.contains("1000/10002 rows") && stderr.contains("9000/10002 rows"), "a line per 1,000 rows: {stderr}");
    assert_eq!(counts(&services).await, (before.0 + 10_000, before.1 + 10_000), "every row's tenant and its owner's invitation");
    assert_eq!(services.tenant_by_slug("tenant-7").await.unwrap().name, "Tenant 7");
    let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(written["summary"], serde_json::json!({"successful": 10000, "failed": 2, "skipped_exists": 0}));
    assert_eq!(written["rows"][0]["status"], "created");
    assert_eq!(written["rows"][10001]["errors"]["subdomain"][0], "An earlier row of this file already has this subdomain.");

    let (out, stdout, _) = tenantry(&url, &["bulk-create-tenants", file.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.contains("Successful: 0") && stdout.contains("Skipped (exists): 10000"), "a second run makes nothing twice: {stdout}");
    assert_eq!(counts(&services).await, (before.0 + 10_000, before.1 + 10_000));

    let good = temp_file("good.csv", "name\nLone Tenant\n");
    let (out, stdout, stderr) = tenantry(&url, &["bulk-create-tenants", good.to_str().unwrap()], &[]);
    assert!(out.status.success(), "no failed row, exit 0: {stdout}{stderr}");
    let headless = temp_file("headless.csv", "Acme,acme\n");
    let (out, _, stderr) = tenantry(&url, &["bulk-create-tenants", headless.to_str().unwrap()], &[]);
    assert!(!out.status.success() && stderr.contains("header"), "{stderr}");
}

#[tokio::test]
async fn provision_from_config_reads_yaml_and_json() {
    let (url, services) = database().await;
    let yaml = temp_file("tenants.yaml", "tenants:\n  - tenant:\n      name: Acme Corporation\n      subdomain: acme-corp\n      plan_type: professional\n      max_users: 40\n    users:\n      - email: admin@acme.test\n        role: owner\n    features:\n      analytics_dashboard: true\n    settings:\n      timezone: America/New_York\n  - tenant:\n      name: \"\"\n");
    let (out, stdout, _) = tenantry(&url, &["provision-from-config", yaml.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("Successful: 1") && stdout.contains("Failed: 1") && stdout.contains("tenant.name"), "{stdout}");
    let acme = services.tenant_by_slug("acme-corp").await.unwrap();
    assert_eq!(acme.settings.0.get("timezone"), Some(&serde_json::json!("America/New_York")));
    let json = temp_file("one.json", r#"{"tenant": {"name": "Globex"}}"#);
    let (out, stdout, stderr) = tenantry(&url, &["provision-from-config", json.to_str().unwrap(), "--dry-run"], &[]);
    assert!(out.status.success() && stdout.contains("Dry run"), "{stdout}{stderr}");
    assert!(matches!(services.tenant_by_slug("globex").await, Err(tenantry::ServiceError::NotFound)));
    let broken = temp_file("broken.yaml", "tenants: [");
    let (out, _, stderr) = tenantry(&url, &["provision-from-config", broken.to_str().unwrap()], &[]);
    assert!(!out.status.success() && stderr.contains("not valid YAML"), "{stderr}");
}

#[tokio::test]
async fn delete_tenant_needs_the_exact_name_and_restore_tenant_brings_it_back() {
    let (url, services) = database().await;
    let (out, _, stderr) = tenantry(&url, &["create-tenant", "Acme Corp"], &[]);
    assert!(out.status.success(), "{stderr}");
    let (out, _, stderr) = tenantry(&url, &["delete-tenant", "acme-corp", "--confirm-name", "acme corp"], &[]);
    assert!(!out.status.success() && stderr.contains("exact name"), "{stderr}");
    assert_eq!(services.tenant_by_slug("acme-corp").await.unwrap().status, tenantry::domain::TenantStatus::Active);
    let (out, stdout, stderr) = tenantry(&url, &["delete-tenant", "acme-corp", "--confirm-name", "Acme Corp"], &[]);
    assert!(out.status.success() && stdout.contains("restore-tenant acme-corp"), "{stdout}{stderr}");
    assert_eq!(services.tenant_by_slug("acme-corp").await.unwrap().status, tenantry::domain::TenantStatus::Deleted);
    let (out, stdout, _) = tenantry(&url, &["restore-tenant", "acme-corp"], &[]);
    assert!(out.status.success() && stdout.contains("Restored"), "{stdout}");
    assert_eq!(services.tenant_by_slug("acme-corp").await.unwrap().status, tenantry::domain::TenantStatus::Active);
    let (out, _, stderr) = tenantry(&url, &["restore-tenant", "no-such"], &[]);
    assert!(!out.status.success() && stderr.contains("no tenant"), "{stderr}");
}

#[tokio::test]
async fn export_tenant_and_import_tenant_move_a_tenant_between_installations() {
    let (here, _) = database().await;
    let (out, _, stderr) = tenantry(&here, &["create-tenant", "Acme Corp", "--owner-email", "boss@acme.test", "--owner-password", "correct horse battery"], &[]);
    assert!(out.status.success(), "{stderr}");
    let dir = std::env::temp_dir().join("tenantry-tests").join(format!("export-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("acme.json.gz");
    let (out, _, stderr) = tenantry(&here, &["export-tenant", "acme-corp", "--out", file.to_str().unwrap()], &[]);
    assert!(out.status.success() && stderr.contains("Exported acme-corp"), "{stderr}");
    assert_eq!(&std::fs::read(&file).unwrap()[..2], &[0x1f, 0x8b], "gzip");
    let (out, stdout, _) = tenantry(&here, &["export-tenant", "acme-corp", "--include", "users"], &[]);
    let document: serde_json::Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    assert!(out.status.success() && document["users"][0]["email"] == "boss@acme.test" && document.get("audit").is_none());

    let (there, services) = database().await;
    let (out, stdout, stderr) = tenantry(&there, &["import-tenant", file.to_str().unwrap(), "--subdomain", "acme-moved"], &[]);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("Imported tenant Acme Corp (acme-moved)") && stdout.contains("accounts created (each sent a set-password link): 1"), "{stdout}");
    assert_eq!(services.tenant_by_slug("acme-moved").await.unwrap().name, "Acme Corp");
    let (out, stdout, _) = tenantry(&there, &["import-tenant", file.to_str().unwrap(), "--subdomain", "acme-moved"], &[]);
    assert!(out.status.success() && stdout.contains("Updated existing") && stdout.contains("members added: 0"), "{stdout}");
    let junk = temp_file("junk.json", "{\"format\": \"nope\"}");
    let (out, _, stderr) = tenantry(&there, &["import-tenant", junk.to_str().unwrap()], &[]);
    assert!(!out.status.success() && stderr.contains("format"), "{stderr}");
}
