use std::net::SocketAddr;

use anyhow::Context;
use axum::serve::ListenerExt;
use clap::Parser;
use tenantry::{config::Config, service::Services};
use tenantry_server::{
    cli::{cli_error, Cli, Command},
    http, mail_cli, telemetry,
};

#[tokio::main]
async fn main() {
    telemetry::init();
    if let Err(error) = run(Cli::parse()).await {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::from_env().context("invalid configuration")?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            // The browser sessions' table is one of the migrations' (0017).
            let services = Services::start(config).await?;
            println!("Database {} is up to date.", services.db().backend_name());
            Ok(())
        }
        Command::CreateSuperuser { email } => create_superuser(config, &email).await,
        Command::Worker => mail_cli::run_worker(config, shutdown()).await,
        Command::CheckEmail { send_test } => mail_cli::check_email(config, send_test).await,
        Command::SetPlatformRole { email, role } => set_platform_role(config, &email, &role).await,
        Command::Invitation(command) => invitation(config, command).await,
        Command::EnableRls { disable } => enable_rls(config, !disable).await,
        Command::ApiKey(command) => api_key(config, command).await,
        Command::Plan(command) => plan(config, command).await,
        Command::SecurityPolicy(tenantry_server::cli::SecurityPolicyCommand::Reset { tenant }) => {
            let services = Services::start(config).await?;
            let policy = services.reset_security_policy(&tenant).await.map_err(cli_error)?;
            println!("The security policy of {tenant} no longer limits networks or requires two-factor sign-in.");
            println!("{}", serde_json::to_string_pretty(&policy.to_json())?);
            Ok(())
        }
        Command::CheckSubdomain { subdomain } => {
            let services = Services::start(config).await?;
            let check = services.check_subdomain(&subdomain).await.map_err(cli_error)?;
            match &check.reason {
                None => println!("{} is available.", check.subdomain),
                Some(reason) => println!("{} is not available: {reason}", check.subdomain),
            }
            println!("Free: {}", check.suggestions.join(", "));
            if check.available { Ok(()) } else { std::process::exit(1) }
        }
        Command::SuggestSubdomains { name } => {
            let services = Services::start(config).await?;
            for suggestion in services.suggest_subdomains(&name).await.map_err(cli_error)? {
                println!("{suggestion}");
            }
            Ok(())
        }
        Command::ImportUsers { tenant, file, mode, dry_run, no_emails } => tenantry_server::import_cli::run(config, &tenant, &file, &mode, dry_run, !no_emails).await,
        Command::CreateTenant {
            name, subdomain, plan, owner_email, owner_password_env, owner_password, contact_email, max_users, max_assets, max_devices, storage_quota, custom_domain, template, feature, var,
        } => {
            let args = tenantry_server::provision_cli::CreateTenantArgs {
                name,
                subdomain,
                plan,
                owner_email,
                owner_password_env,
                owner_password,
                contact_email,
                limits: vec![("max_users", max_users), ("max_assets", max_assets), ("max_devices", max_devices), ("storage_quota_gb", storage_quota)],
                custom_domain,
                template,
                features: feature,
                vars: var,
            };
            tenantry_server::provision_cli::create_tenant(config, args).await
        }
        Command::BulkCreateTenants { file, dry_run, report, concurrency } => tenantry_server::provision_cli::bulk_create(config, &file, dry_run, report.as_deref(), concurrency).await,
        Command::ProvisionFromConfig { file, dry_run, report } => tenantry_server::provision_cli::from_config(config, &file, dry_run, report.as_deref()).await,
        Command::DeleteTenant { slug, confirm_name } => tenantry_server::provision_cli::delete(config, &slug, &confirm_name).await,
        Command::RestoreTenant { slug } => tenantry_server::provision_cli::restore(config, &slug).await,
        Command::ExportTenant { slug, out, include } => tenantry_server::provision_cli::export(config, &slug, out.as_deref(), &include).await,
        Command::ImportTenant { file, subdomain } => tenantry_server::provision_cli::import(config, &file, subdomain.as_deref()).await,
        Command::BenchArgon2 => {
            let hasher = tenantry::auth::PasswordHasher::new();
            let rounds = 20;
            let start = std::time::Instant::now();
            for _ in 0..rounds {
                hasher.hash("correct horse battery").await?;
            }
            println!("argon2id hash: {:.1} ms", start.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds));
            // Every core hashing at once: what a server of this machine can verify per second
            // (cores share caches and memory bandwidth, so this is below cores / one hash).
            // All the hashes are asked for at once, so the hashing threads never wait for the
            // next one: the most this machine's cores can hash.
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            let start = std::time::Instant::now();
            let mut running = tokio::task::JoinSet::new();
            for _ in 0..cores * rounds as usize {
                let hasher = hasher.clone();
                running.spawn(async move { hasher.hash("correct horse battery").await.map(drop) });
            }
            while let Some(done) = running.join_next().await {
                done??;
            }
            println!("argon2id, {cores} at once: {:.1} hashes/s", f64::from(rounds) * cores as f64 / start.elapsed().as_secs_f64());
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let mut leptos = leptos::config::get_configuration(None).context("reading the Leptos configuration")?.leptos_options;
    let bind: SocketAddr = config.bind_addr.parse().with_context(|| format!("BIND_ADDR {:?} is not host:port", config.bind_addr))?;
    leptos.site_addr = bind;
    let services = Services::start(config.clone()).await?;
    let mail_worker = mail_cli::spawn_worker(&services).await?;
    let job_worker = mail_cli::spawn_job_worker(&services);
    let webhook_worker = mail_cli::spawn_webhook_worker(&services);
    let app = http::build(services.clone(), leptos).await?;
    let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("cannot listen on {bind}"))?;
    let local = listener.local_addr()?;
    // Without TCP_NODELAY every streamed response waits for a delayed ACK (~40 ms).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tracing::info!(database = services.db().backend_name(), "Tenantry listening on http://{local}");
    println!("Tenantry is running at http://{local}  (database: {})", services.db().backend_name());
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown())
        .await?;
    // Writes answered requests left running (failed sign-ins, reset requests) finish first.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), services.settled()).await;
    webhook_worker.stop().await;
    job_worker.stop().await;
    mail_worker.stop().await;
    services.db().close().await;
    Ok(())
}

async fn enable_rls(config: Config, enabled: bool) -> anyhow::Result<()> {
    let services = Services::start(config).await?;
    let db = services.db();
    let sql = db.set_row_level_security(enabled).await.context("applying the row-level security policies")?;
    println!("{sql}");
    if !enabled {
        println!("-- Row-level security is off.");
        return Ok(());
    }
    println!("-- Row-level security is on for {} tables.", tenantry::store::rls::TENANT_TABLES.len() + tenantry::store::rls::TENANT_TABLES_WITH_SHARED_ROW.len());
    if let Some((role, true)) = db.role_bypasses_rls().await? {
        eprintln!(
            "warning: this connection's role {role:?} is a superuser or has BYPASSRLS, so the policies do not bind it. \
             Run the server as an ordinary role (for example the tables' owner without SUPERUSER)."
        );
    }
    Ok(())
}

async fn create_superuser(config: Config, email: &str) -> anyhow::Result<()> {
    let services = Services::start(config).await?;
    let password = match std::env::var("SUPERUSER_PASSWORD").ok().filter(|p| !p.is_empty()) {
        Some(password) => Some(password),
        None if services.account_exists(email).await? => None,
        None => Some(rpassword::prompt_password(format!("Password for {email}: ")).context("reading the password")?),
    };
    match services.create_superuser(email, password.as_deref()).await {
        Ok((user, true)) => println!("Created superuser {} ({}).", user.email, user.id),
        Ok((user, false)) => println!("Promoted existing account {} ({}) to superuser.", user.email, user.id),
        Err(tenantry::ServiceError::Validation(fields)) => {
            let messages: Vec<String> = fields.iter().map(|(f, m)| format!("{f}: {}", m.join(" "))).collect();
            anyhow::bail!("{}", messages.join("; "));
        }
        Err(other) => return Err(other.into()),
    }
    Ok(())
}

async fn set_platform_role(config: Config, email: &str, role: &str) -> anyhow::Result<()> {
    let role = match role.trim().to_ascii_lowercase().as_str() {
        "none" | "" => None,
        other => Some(tenantry::domain::PlatformRole::parse(other).map_err(anyhow::Error::msg)?),
    };
    let services = Services::start(config).await?;
    let password = match std::env::var("PLATFORM_USER_PASSWORD").ok().filter(|p| !p.is_empty()) {
        Some(password) => Some(password),
        None if services.account_exists(email).await? => None,
        None => Some(rpassword::prompt_password(format!("Password for the new account {email}: ")).context("reading the password")?),
    };
    let (user, created) = services.set_platform_role(email, role, password.as_deref()).await.map_err(cli_error)?;
    let shown = role.map(|r| r.as_str()).unwrap_or("no platform role");
    println!("{} {} ({}) now has {shown}.", if created { "Created" } else { "Updated" }, user.email, user.id);
    Ok(())
}

async fn invitation(config: Config, command: tenantry_server::cli::InvitationCommand) -> anyhow::Result<()> {
    use tenantry_server::cli::InvitationCommand as C;
    let services = Services::start(config).await?;
    match command {
        C::Expire { token_or_id } => {
            let invitation = services.expire_invitation(&token_or_id).await.map_err(cli_error)?;
            println!("Invitation {} for {} has expired; its link no longer works.", invitation.id, invitation.email);
        }
        C::Extend { id, days } => {
            let invitation = services.extend_invitation(id, days).await.map_err(cli_error)?;
            println!("Invitation {} for {} now expires at {}.", invitation.id, invitation.email, invitation.expires_at.to_rfc3339());
        }
        C::Purge { expired } => {
            if !expired {
                anyhow::bail!("say what to purge: `invitation purge --expired`");
            }
            let purged = services.purge_expired_invitations().await.map_err(cli_error)?;
            println!("Purged {purged} expired invitation(s).");
        }
    }
    Ok(())
}

async fn plan(config: Config, command: tenantry_server::cli::PlanCommand) -> anyhow::Result<()> {
    use serde_json::{json, Map, Value};
    use tenantry::service::{PlanInput, Raw};
    use tenantry_server::cli::PlanCommand as C;
    let services = Services::start(config).await?;
    let show = |plan: &tenantry::store::Plan| {
        let limits: Vec<String> = plan.limits.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let price = plan.price_monthly.map(|p| format!(" ${p}/month")).unwrap_or_default();
        println!("{} ({}){price}: {}; features: {}", plan.name, plan.display_name, limits.join(" "), plan.features.0.join(", "));
    };
    match command {
        C::List => {
            let mut tx = services.db().read().await?;
            for plan in tx.plans().await? {
                show(&plan);
            }
        }
        C::Set { name, display_name, price_monthly, max_users, max_assets, max_devices, storage_quota_gb, limits, features } => {
            let mut limit_map = Map::new();
            for (key, value) in [("max_users", max_users), ("max_assets", max_assets), ("max_devices", max_devices), ("storage_quota_gb", storage_quota_gb)] {
                if let Some(n) = value {
                    limit_map.insert(key.into(), json!(n));
                }
            }
            for pair in &limits {
                let (key, value) = pair.split_once('=').ok_or_else(|| anyhow::anyhow!("--limit takes NAME=N, not {pair:?}"))?;
                let value = match value.trim() {
                    "none" | "unlimited" => Value::Null,
                    n => json!(n.parse::<i64>().map_err(|_| anyhow::anyhow!("--limit {key}: {n:?} is not a whole number"))?),
                };
                limit_map.insert(key.trim().into(), value);
            }
            let mut feature_map = Map::new();
            for pair in &features {
                let (key, value) = pair.split_once('=').ok_or_else(|| anyhow::anyhow!("--feature takes NAME=on|off, not {pair:?}"))?;
                let on = match value.trim() {
                    "on" | "true" => true,
                    "off" | "false" => false,
                    other => anyhow::bail!("--feature {key}: use on or off, not {other:?}"),
                };
                feature_map.insert(key.trim().into(), json!(on));
            }
            let input = PlanInput {
                name: Raw::text(name.clone()),
                display_name: display_name.map(Raw::text).unwrap_or_default(),
                price_monthly: price_monthly.map(|p| json!(p)),
                limits: (!limit_map.is_empty()).then_some(Value::Object(limit_map)),
                features: (!feature_map.is_empty()).then_some(Value::Object(feature_map)),
            };
            let plan = services.update_plan(None, &name, input, true).await.map_err(cli_error)?;
            show(&plan);
        }
    }
    Ok(())
}

async fn api_key(config: Config, command: tenantry_server::cli::ApiKeyCommand) -> anyhow::Result<()> {
    use tenantry::service::{ApiKeyInput, Raw, RawList};
    use tenantry_server::cli::ApiKeyCommand as C;
    let services = Services::start(config).await?;
    let scopes_of = |key: &tenantry::store::ApiKey| key.scopes.0.iter().map(|g| g.to_text()).collect::<Vec<_>>().join(" ");
    match command {
        C::Create { tenant, name, scopes, expires_days, created_by } => {
            let input = ApiKeyInput {
                name: Raw::text(name),
                scopes: RawList::Items(scopes),
                expires_days: expires_days.map(|d| Raw::text(d.to_string())).unwrap_or_default(),
            };
            let issued = services.create_api_key_for_tenant(&tenant, created_by.as_deref(), input).await.map_err(cli_error)?;
            println!("{}", issued.secret);
            eprintln!(
                "Created API key {} ({}) for {tenant}, scopes: {}, made for {}{}. The key is shown only now.",
                issued.key.id,
                issued.key.name,
                scopes_of(&issued.key),
                issued.key.created_by_email,
                issued.key.expires_at.map(|t| format!(", expires {}", t.to_rfc3339())).unwrap_or_default(),
            );
        }
        C::List { tenant } => {
            let keys = services.api_keys_of_tenant(&tenant).await.map_err(cli_error)?;
            if keys.is_empty() {
                println!("No API keys.");
            }
            for key in keys {
                let state = match (key.revoked_at, key.expires_at) {
                    (Some(at), _) => format!("revoked {}", at.to_rfc3339()),
                    (None, Some(at)) if at <= chrono::Utc::now() => format!("expired {}", at.to_rfc3339()),
                    (None, Some(at)) => format!("expires {}", at.to_rfc3339()),
                    (None, None) => "does not expire".to_owned(),
                };
                let used = key.last_used_at.map(|t| format!("last used {}", t.to_rfc3339())).unwrap_or_else(|| "never used".into());
                println!("{}  {}…  {}  [{}]  {state}, {used}", key.id, key.prefix, key.name, scopes_of(&key));
            }
        }
        C::Revoke { id } => {
            let key = services.revoke_api_key_anywhere(&id).await.map_err(cli_error)?;
            println!("API key {} ({}) is revoked.", key.id, key.name);
        }
    }
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}
