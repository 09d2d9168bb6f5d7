//! The provisioning commands: `create-tenant`, `bulk-create-tenants`, `provision-from-config`,
//! `delete-tenant`, `restore-tenant`. Each turns its arguments into the same service calls the
//! provisioning API makes (`Services::provision`, `bulk_provision`, `delete_tenant` …) and
//! prints what happened; the rules are all in the service layer.

use std::path::Path;

use anyhow::Context;
use serde_json::{json, Map, Value};
use tenantry::{
    config::Config,
    service::{bulk_csv_items, config_items, csv_field, BulkOptions, BulkRowResult, BulkStatus, BulkSummary, IfExists, ProvisionOptions, Provisioned, Raw, RequestMeta, Services, TenantDescription},
};

use crate::{cli::cli_error, import_cli::Progress};

/// What `create-tenant` was given, before it becomes a description.
pub struct CreateTenantArgs {
    pub name: String,
    pub subdomain: Option<String>,
    pub plan: Option<String>,
    pub owner_email: Option<String>,
    pub owner_password_env: Option<String>,
    pub owner_password: Option<String>,
    pub contact_email: Option<String>,
    pub limits: Vec<(&'static str, Option<i64>)>,
    pub custom_domain: Option<String>,
    pub template: Option<String>,
    pub features: Vec<String>,
    pub vars: Vec<String>,
}

/// The description `create-tenant` stands for.
pub fn describe(args: &CreateTenantArgs) -> anyhow::Result<Value> {
    let mut tenant = Map::new();
    tenant.insert("name".into(), json!(args.name));
    let mut put = |key: &str, value: &Option<String>| {
        if let Some(value) = value {
            tenant.insert(key.into(), json!(value));
        }
    };
    put("subdomain", &args.subdomain);
    put("plan_type", &args.plan);
    put("contact_email", &args.contact_email);
    put("custom_domain", &args.custom_domain);
    for (limit, value) in &args.limits {
        if let Some(value) = value {
            tenant.insert((*limit).into(), json!(value));
        }
    }
    let password = match (&args.owner_password_env, &args.owner_password) {
        (Some(var), _) => Some(std::env::var(var).with_context(|| format!("--owner-password-env names {var}, which is not set"))?),
        (None, Some(password)) => {
            eprintln!("warning: a password given with --owner-password lands in your shell history; prefer --owner-password-env VAR");
            Some(password.clone())
        }
        (None, None) => None,
    };
    let mut users = Vec::new();
    if let Some(email) = &args.owner_email {
        let mut owner = json!({"email": email, "role": "owner"});
        if let Some(password) = password {
            owner["password"] = json!(password);
        }
        users.push(owner);
    } else if password.is_some() {
        anyhow::bail!("an owner password needs --owner-email");
    }
    let mut features = Map::new();
    for flag in &args.features {
        let (name, state) = flag.split_once('=').with_context(|| format!("--feature takes NAME=on|off, not {flag:?}"))?;
        let on = match state.trim().to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" | "1" => true,
            "off" | "false" | "no" | "0" => false,
            other => anyhow::bail!("--feature {name}= takes on or off, not {other:?}"),
        };
        features.insert(name.trim().into(), json!(on));
    }
    let mut description = json!({"tenant": tenant, "users": users, "features": features});
    if let Some(template) = &args.template {
        description["template"] = json!(template);
    }
    let mut vars = Map::new();
    for pair in &args.vars {
        let (key, value) = pair.split_once('=').with_context(|| format!("--var takes KEY=VALUE, not {pair:?}"))?;
        vars.insert(key.trim().into(), json!(value));
    }
    if !vars.is_empty() {
        description["vars"] = Value::Object(vars);
    }
    Ok(description)
}

/// `create-tenant`.
pub async fn create_tenant(config: Config, args: CreateTenantArgs) -> anyhow::Result<()> {
    let value = describe(&args)?;
    let description = TenantDescription::parse(&value).map_err(|fields| cli_error(tenantry::ServiceError::Validation(fields)))?;
    let services = Services::start(config).await?;
    let options = ProvisionOptions { dry_run: false, if_exists: IfExists::Conflict };
    let made = match services.provision(None, description, options, &RequestMeta::default()).await.map_err(cli_error)? {
        Provisioned::Created(made) => made,
        Provisioned::WouldCreate(_) | Provisioned::Exists(_) => anyhow::bail!("nothing was created"),
    };
    println!("Created tenant {}", made.tenant.name);
    println!("  id:   {}", made.tenant.id.0);
    println!("  slug: {}", made.tenant.slug);
    println!("  URL:  {}", access_url(services.config(), &made.tenant.slug));
    if let Some(plan) = &made.tenant.plan {
        println!("  plan: {plan}");
    }
    for account in &made.accounts {
        println!("Owner account {} created with the given password.", account.email);
    }
    for issued in &made.invitations {
        println!("Invitation for {} queued; a running server (or `worker`) delivers it.", issued.invitation.email);
    }
    services.settled().await;
    Ok(())
}

/// Where a tenant's people sign in: its subdomain under TENANT_BASE_DOMAIN, else the login page.
fn access_url(config: &Config, slug: &str) -> String {
    match &config.tenant_base_domain {
        Some(base) => {
            let scheme = if config.frontend_base_url.starts_with("http://") { "http" } else { "https" };
            format!("{scheme}://{slug}.{base}/")
        }
        None => format!("{}/login", config.frontend_base_url.trim_end_matches('/')),
    }
}

/// `bulk-create-tenants`.
pub async fn bulk_create(config: Config, file: &Path, dry_run: bool, report: Option<&Path>, concurrency: usize) -> anyhow::Result<()> {
    let open = || std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()));
    // A first pass only counts the rows (for the progress bar); neither pass holds the file.
    let total = csv::ReaderBuilder::new().from_reader(std::io::BufReader::new(open()?)).into_records().count() as u64;
    let items = bulk_csv_items(std::io::BufReader::new(open()?)).map_err(anyhow::Error::msg)?;
    let services = Services::start(config).await?;
    let progress = Progress::new(total);
    let options = BulkOptions { dry_run, concurrency, rename: csv_field };
    let results = services.bulk_provision(None, items, options, &|done| progress.show(done)).await;
    progress.finish();
    services.settled().await;
    finish(&results, dry_run, report)
}

/// `provision-from-config`.
pub async fn from_config(config: Config, file: &Path, dry_run: bool, report: Option<&Path>) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let yaml = file.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    let document: Value = if yaml {
        serde_yaml::from_str(&text).with_context(|| format!("{} is not valid YAML", file.display()))?
    } else {
        serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", file.display()))?
    };
    let items = config_items(document).map_err(anyhow::Error::msg)?;
    let services = Services::start(config).await?;
    let progress = Progress::new(items.len() as u64);
    let options = BulkOptions { dry_run, concurrency: 1, rename: str::to_owned };
    let results = services.bulk_provision(None, items.into_iter(), options, &|done| progress.show(done)).await;
    progress.finish();
    services.settled().await;
    finish(&results, dry_run, report)
}

fn finish(results: &[BulkRowResult], dry_run: bool, report: Option<&Path>) -> anyhow::Result<()> {
    let summary = BulkSummary::of(results);
    if let Some(path) = report {
        let document = json!({"dry_run": dry_run, "summary": summary, "rows": results});
        std::fs::write(path, serde_json::to_vec_pretty(&document)?).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if dry_run {
        println!("Dry run: nothing was written.");
    }
    println!("Successful: {}", summary.successful);
    println!("Failed: {}", summary.failed);
    println!("Skipped (exists): {}", summary.skipped_exists);
    let failed: Vec<&BulkRowResult> = results.iter().filter(|r| r.status == BulkStatus::Failed).collect();
    if !failed.is_empty() {
        println!("Failed rows:");
    }
    for row in &failed {
        let reasons: Vec<String> = row
            .errors
            .as_ref()
            .map(|e| e.iter().map(|(field, messages)| format!("{field}: {}", messages.join(" "))).collect())
            .unwrap_or_default();
        let label = row.subdomain.as_deref().or(row.name.as_deref()).unwrap_or("-");
        println!("  row {} ({label}): {}", row.row, reasons.join("; "));
    }
    let invited: usize = results.iter().map(|r| r.invited.len()).sum();
    if invited > 0 && !dry_run {
        println!("{invited} invitation(s) queued; a running server (or `worker`) delivers them.");
    }
    if failed.is_empty() { Ok(()) } else { anyhow::bail!("{} row(s) failed", failed.len()) }
}

/// `delete-tenant`.
pub async fn delete(config: Config, slug: &str, confirm_name: &str) -> anyhow::Result<()> {
    let services = Services::start(config).await?;
    let tenant = services.tenant_by_slug(slug).await.map_err(|_| anyhow::anyhow!("there is no tenant {slug:?}"))?;
    let deleted = services.delete_tenant(None, tenant.id, Raw::text(confirm_name), &RequestMeta::default()).await.map_err(cli_error)?;
    let grace = services.config().tenant_deletion_grace.as_secs() / 86_400;
    println!("Deleted tenant {} ({}); restorable with `restore-tenant {}` for {grace} day(s), then purged.", deleted.name, deleted.slug, deleted.slug);
    Ok(())
}

/// `restore-tenant`.
pub async fn restore(config: Config, slug: &str) -> anyhow::Result<()> {
    let services = Services::start(config).await?;
    let tenant = services.tenant_by_slug(slug).await.map_err(|_| anyhow::anyhow!("there is no tenant {slug:?}"))?;
    let restored = services.restore_tenant(None, tenant.id, &RequestMeta::default()).await.map_err(cli_error)?;
    println!("Restored tenant {} ({}).", restored.name, restored.slug);
    Ok(())
}

/// `export-tenant`.
pub async fn export(config: Config, slug: &str, out: Option<&Path>, include: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let services = Services::start(config).await?;
    let tenant = services.tenant_by_slug(slug).await.map_err(|_| anyhow::anyhow!("there is no tenant {slug:?}"))?;
    let mut export = services.export_tenant(None, tenant.id, include).await.map_err(cli_error)?;
    let mut sink: Box<dyn Write> = match out {
        Some(path) => {
            let file = std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?);
            if path.extension().is_some_and(|e| e == "gz") { Box::new(flate2::write::GzEncoder::new(file, flate2::Compression::default())) } else { Box::new(file) }
        }
        None => Box::new(std::io::stdout().lock()),
    };
    while let Some(chunk) = export.next_chunk().await.map_err(cli_error)? {
        sink.write_all(chunk.as_bytes())?;
    }
    sink.flush()?;
    drop(sink);
    if let Some(path) = out {
        eprintln!("Exported {} to {}.", tenant.slug, path.display());
    }
    Ok(())
}

/// `import-tenant`.
pub async fn import(config: Config, file: &Path, subdomain: Option<&str>) -> anyhow::Result<()> {
    use std::io::Read;
    let raw = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let mut text = String::new();
    if file.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(raw).read_to_string(&mut text).with_context(|| format!("{} is not a gzip file", file.display()))?;
    } else {
        std::io::BufReader::new(raw).read_to_string(&mut text)?;
    }
    let document: Value = serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", file.display()))?;
    let services = Services::start(config).await?;
    let imported = services.import_tenant(&document, subdomain, &RequestMeta::default()).await.map_err(cli_error)?;
    let verb = if imported.existed { "Updated existing" } else { "Imported" };
    println!("{verb} tenant {} ({})", imported.tenant.name, imported.tenant.slug);
    println!("  id: {}", imported.tenant.id.0);
    println!("  members added: {}", imported.members_added.len());
    println!("  accounts created (each sent a set-password link): {}", imported.accounts_created.len());
    println!("  invitations sent again: {}", imported.invitations.len());
    println!("  custom roles: {}", imported.roles_created.len());
    println!("  audit events: {}", imported.audit_rows);
    for note in &imported.notes {
        println!("  note: {note}");
    }
    services.settled().await;
    Ok(())
}
