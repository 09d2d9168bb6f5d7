//! The command line: `serve` (default), `migrate`, `create-superuser`, `worker`, `check-email`,
//! `set-platform-role`, `invitation …`, `enable-rls`, `api-key …`, the provisioning commands
//! (`create-tenant`, `bulk-create-tenants`, `provision-from-config`, `delete-tenant`,
//! `restore-tenant`). Every subcommand reads
//! the same configuration as `serve`.

use clap::{Parser, Subcommand};


#[derive(Debug, Parser)]
#[command(
    name = "tenantry",
    version,
    about = "Tenantry: multi-tenant onboarding and access service",
    long_about = "Tenantry: multi-tenant onboarding and access service.\n\n\
Configuration comes from the environment and an optional .env file (see .env.sample):\n\
DATABASE_URL (default sqlite://tenantry.sqlite?mode=rwc), BIND_ADDR, FRONTEND_BASE_URL, SECRET_KEY, …\n\
Run without a subcommand to serve."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (JSON API and pages); migrates the database first.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create a platform superuser, or promote the existing account with that e-mail.
    ///
    /// The password is read from SUPERUSER_PASSWORD if set, else prompted for (hidden). An
    /// existing account keeps its password.
    CreateSuperuser {
        /// E-mail address of the account.
        #[arg(long)]
        email: String,
    },
    /// Deliver the e-mail outbox until Ctrl-C or SIGTERM, without serving HTTP.
    ///
    /// `serve` already runs this worker as a task; use the subcommand to deliver from a
    /// separate process (several may run at once). Uses EMAIL_PROVIDER and its settings.
    Worker,
    /// Walk the SES production-readiness checklist through the SES API (EMAIL_PROVIDER=ses).
    ///
    /// Prints PASS, FAIL or UNKNOWN per item: the domain identity of SES_EXPECTED_FROM_DOMAIN
    /// (else of EMAIL_FROM_ADDRESS) exists and is verified, DKIM is enabled and verified, the
    /// account has production access (is out of the sandbox), and EMAIL_FROM_ADDRESS is in the
    /// expected domain. Exits non-zero when an item fails.
    CheckEmail {
        /// Also send a test invitation and a test password reset mail to this address.
        #[arg(long, value_name = "ADDRESS")]
        send_test: Option<String>,
    },
    /// Give an account a platform role (PARTNER_ADMIN may provision tenants), or take it away
    /// with `--role none`. Creates the account when it does not exist (password from
    /// PLATFORM_USER_PASSWORD, else a hidden prompt).
    SetPlatformRole {
        #[arg(long)]
        email: String,
        /// PARTNER_ADMIN or none.
        #[arg(long)]
        role: String,
    },
    /// Support tools for invitations.
    #[command(subcommand)]
    Invitation(InvitationCommand),
    /// Turn on PostgreSQL row-level security for every tenant-owned table (prints the SQL).
    ///
    /// Migrates first. Each policy lets a connection see and write only the rows of the tenant
    /// in the setting `tenantry.tenant_id`, which the server sets for every request inside a
    /// tenant ('*' for sign-up, login and platform views). The tables are FORCEd, so the
    /// policies bind their owner too; they never bind a superuser or a BYPASSRLS role, so run
    /// the server as an ordinary role. Idempotent.
    EnableRls {
        /// Remove the policies again instead.
        #[arg(long)]
        disable: bool,
    },
    /// API keys of a tenant: create (the key is printed once), list, revoke.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
    /// Import members into a tenant from a CSV file (header: email,full_name,role; a username
    /// column is ignored). Each row stands alone; rows already members or invited are
    /// reported as existing, so a file can be imported again. Exits non-zero when a row failed.
    ImportUsers {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The CSV file.
        file: std::path::PathBuf,
        /// invite (default): each person gets an invitation; create: accounts are made with
        /// random passwords and a set-password e-mail.
        #[arg(long, default_value = "invite")]
        mode: String,
        /// Check every row (and repeats inside the file) against the database; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not e-mail anyone now (invitations wait for a resend).
        #[arg(long)]
        no_emails: bool,
    },
    /// Whether a subdomain is free (and five free ones like it).
    CheckSubdomain { subdomain: String },
    /// Five free subdomains for an organisation's name.
    SuggestSubdomains { name: String },
    /// Plans: list them, or create/change one.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Tenant security policies (support).
    #[command(subcommand)]
    SecurityPolicy(SecurityPolicyCommand),
    /// Create one tenant (the same call as the provisioning API) and print its id, slug and
    /// address. The owner is invited unless a password is given for them.
    CreateTenant {
        /// The organisation's name.
        name: String,
        /// Its subdomain (slug); made from the name when left out.
        subdomain: Option<String>,
        #[arg(long)]
        plan: Option<String>,
        /// The first ADMIN: invited by e-mail, or given an account with the password below.
        #[arg(long)]
        owner_email: Option<String>,
        /// Read the owner's password from this environment variable.
        #[arg(long, value_name = "VAR", conflicts_with = "owner_password")]
        owner_password_env: Option<String>,
        /// The owner's password on the command line (it lands in shell history; prefer
        /// --owner-password-env).
        #[arg(long)]
        owner_password: Option<String>,
        #[arg(long)]
        contact_email: Option<String>,
        #[arg(long)]
        max_users: Option<i64>,
        #[arg(long)]
        max_assets: Option<i64>,
        #[arg(long)]
        max_devices: Option<i64>,
        /// storage_quota_gb.
        #[arg(long, value_name = "GB")]
        storage_quota: Option<i64>,
        #[arg(long)]
        custom_domain: Option<String>,
        /// A template from TENANT_TEMPLATES_FILE.
        #[arg(long)]
        template: Option<String>,
        /// A feature switched on or off for this tenant (NAME=on|off); repeat for more.
        #[arg(long, value_name = "NAME=on|off")]
        feature: Vec<String>,
        /// A value for the template's ${KEY} (else the environment's); repeat for more.
        #[arg(long, value_name = "KEY=VALUE")]
        var: Vec<String>,
    },
    /// Create tenants from a CSV file (header: name,subdomain,plan,owner_email,contact_email,
    /// max_users,max_assets,max_devices,storage_quota_gb,custom_domain; only name is required).
    /// Each row is its own transaction; failures are listed and never stop the run; rows made
    /// by an earlier run are reported as existing. Exits non-zero when a row failed.
    BulkCreateTenants {
        file: std::path::PathBuf,
        /// Check every row against the database and the other rows; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also write every row's outcome to this JSON file.
        #[arg(long, value_name = "FILE.json")]
        report: Option<std::path::PathBuf>,
        /// Rows provisioned at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// Create tenants from tenant descriptions in a JSON or YAML file (one, a list, or
    /// {"tenants": [...]}); reported like bulk-create-tenants.
    ProvisionFromConfig {
        file: std::path::PathBuf,
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_name = "FILE.json")]
        report: Option<std::path::PathBuf>,
    },
    /// Delete a tenant (restorable for TENANT_DELETION_GRACE_DAYS, then purged by the worker).
    DeleteTenant {
        /// The tenant's slug.
        slug: String,
        /// The tenant's exact name, typed back.
        #[arg(long)]
        confirm_name: String,
    },
    /// Bring back a deleted tenant within its grace period.
    RestoreTenant {
        /// The tenant's slug.
        slug: String,
    },
    /// Write a tenant's export document (password and token hashes never included).
    ExportTenant {
        /// The tenant's slug.
        slug: String,
        /// The file to write (`.gz` compresses it); standard output when left out.
        #[arg(long, value_name = "FILE.json[.gz]")]
        out: Option<std::path::PathBuf>,
        /// The parts to include (users,roles,invitations,audit,settings; all by default).
        #[arg(long, default_value = "")]
        include: String,
    },
    /// Recreate a tenant from an export, on this or another installation. People without an
    /// account here get one with a set-password link; pending invitations are sent again.
    /// Running it twice adds nothing.
    ImportTenant {
        /// The export (`.gz` is read compressed).
        file: std::path::PathBuf,
        /// Give the tenant another subdomain than the export's.
        #[arg(long)]
        subdomain: Option<String>,
    },
    /// Time one argon2id hash with the production parameters (used by the benchmark).
    #[command(hide = true)]
    BenchArgon2,
}

#[derive(Debug, Subcommand)]
pub enum InvitationCommand {
    /// Make an invitation link stop working, as expired (by token or invitation id).
    Expire {
        /// The token from the link, or the invitation's id.
        token_or_id: String,
    },
    /// Give a pending or expired invitation N more days from now (the link keeps working).
    Extend {
        id: uuid::Uuid,
        #[arg(long)]
        days: i64,
    },
    /// Delete invitations that expired without being accepted.
    Purge {
        /// Required, to say what is purged.
        #[arg(long)]
        expired: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Make a key for a tenant and print it (once: only its hash is stored).
    ///
    /// The key is made on behalf of `--created-by` (a member of the tenant), or of the
    /// tenant's longest-serving ADMIN; it never holds more than that person does.
    Create {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// A permission or wildcard (`members:read`, `invitations:*`, `*`); repeat for more.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Days until it expires (1–3650); without it the key does not expire.
        #[arg(long)]
        expires_days: Option<i64>,
        /// E-mail of the member the key answers to.
        #[arg(long, value_name = "EMAIL")]
        created_by: Option<String>,
    },
    /// List a tenant's keys (never the keys themselves).
    List {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
    },
    /// Revoke a key at once.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum SecurityPolicyCommand {
    /// Clear a tenant's allowed network list and its 2FA requirement (for admins who locked
    /// themselves out). Password rules and the idle timeout stay. Audited.
    Reset {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Every plan with its limits and features.
    List,
    /// Creates the plan when it does not exist, else changes the limits and features given.
    Set {
        name: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        price_monthly: Option<f64>,
        #[arg(long)]
        max_users: Option<i64>,
        #[arg(long)]
        max_assets: Option<i64>,
        #[arg(long)]
        max_devices: Option<i64>,
        #[arg(long = "storage-quota-gb", alias = "storage-quota")]
        storage_quota_gb: Option<i64>,
        /// Any other limit, `max_tasks=20` (`max_tasks=none` removes it); repeat for more.
        #[arg(long = "limit", value_name = "NAME=N")]
        limits: Vec<String>,
        /// `custom_branding=on` or `=off`; repeat for more.
        #[arg(long = "feature", value_name = "NAME=on|off")]
        features: Vec<String>,
    },
}

/// A service error as one readable line for the terminal.
pub fn cli_error(error: tenantry::ServiceError) -> anyhow::Error {
    match error {
        tenantry::ServiceError::Validation(fields) => {
            let messages: Vec<String> = fields.iter().map(|(f, m)| format!("{f}: {}", m.join(" "))).collect();
            anyhow::anyhow!("{}", messages.join("; "))
        }
        tenantry::ServiceError::NotFound => anyhow::anyhow!("not found"),
        tenantry::ServiceError::Conflict { detail, .. } => anyhow::anyhow!("{detail}"),
        tenantry::ServiceError::Forbidden(detail) => anyhow::anyhow!("{detail}"),
        other => other.into(),
    }
}
