//! The command line: `serve` (default), `migrate`, `create-superuser`. Every subcommand reads
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
    /// Time one argon2id hash with the production parameters (used by the benchmark).
    #[command(hide = true)]
    BenchArgon2,
}
