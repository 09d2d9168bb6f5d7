//! Storage: one query API over SQLite (the embedded default) and PostgreSQL, chosen once from
//! the URL scheme. Every query is written once; the [`on!`] macro runs it against whichever
//! backend the transaction belongs to (each arm is compiled for its own driver).
//!
//! Everything runs inside a [`Tx`]: reads too, because on PostgreSQL the row-level security
//! setting is per transaction, and because a service call must see one consistent snapshot.

mod audit;
mod invitations;
mod models;
mod outbox;
mod password_resets;
mod refresh_tokens;
mod roles;
mod tenants;
mod users;

pub use audit::{AuditCursor, AuditEntry, AuditQuery, NewAuditEntry};
pub use invitations::{Invitation, InvitationState};
pub use password_resets::ResetToken;
pub use refresh_tokens::RefreshTokenRecord;
pub use users::NewUser;
pub(crate) use users::split_roles;
pub use models::*;
pub use outbox::{NewEmail, OutboxEmail};

use std::{str::FromStr, sync::Arc, time::Duration};

use sqlx::{
    pool::{PoolConnection, PoolOptions},
    postgres::{PgConnectOptions, PgPool},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous},
    Postgres, Sqlite, Transaction,
};

/// Runs `$body` with `$c` bound to the transaction's connection, for either backend.
macro_rules! on {
    ($tx:expr, $c:ident => $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::store::Tx::SqliteRead(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::store::Tx::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::store::Tx::PostgresRead(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}
pub(crate) use on;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A connection pool to one of the two backends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqliteDb),
    Postgres(PgPool),
}

/// SQLite allows one writer at a time. Writers queue on an in-process gate in arrival order
/// instead of polling SQLite's busy handler, whose sleeps made write latency spiky (p99 of
/// 700 ms at 16 concurrent invites; the busy timeout still covers other processes).
#[derive(Clone, Debug)]
pub struct SqliteDb {
    pub pool: SqlitePool,
    write_gate: Arc<tokio::sync::Mutex<()>>,
}

/// A SQLite write transaction holding the write gate until it ends.
pub struct SqliteWrite {
    tx: Transaction<'static, Sqlite>,
    _gate: tokio::sync::OwnedMutexGuard<()>,
}

impl std::ops::Deref for SqliteWrite {
    type Target = sqlx::SqliteConnection;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for SqliteWrite {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// One database transaction. Dropping it without [`Tx::commit`] rolls back.
pub enum Tx {
    Sqlite(SqliteWrite),
    /// SQLite reads run on a plain connection: every statement already sees a consistent
    /// snapshot, and skipping BEGIN/COMMIT halves the round trips on the hottest paths.
    SqliteRead(PoolConnection<Sqlite>),
    Postgres(Transaction<'static, Postgres>),
    /// PostgreSQL reads likewise: BEGIN and COMMIT were two of the three round trips of a read.
    PostgresRead(PoolConnection<Postgres>),
}

impl Db {
    /// Connects to `url`: `postgres://…`/`postgresql://…` for PostgreSQL, anything `sqlite:`
    /// for SQLite (the file is created if missing; WAL mode, foreign keys on).
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options)
                .await?;
            Ok(Self::Postgres(pool))
        } else {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let pool = PoolOptions::new()
                // Each in-memory connection would be its own database.
                .max_connections(if in_memory { 1 } else { 8 })
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Self::Sqlite(SqliteDb { pool, write_gate: Arc::new(tokio::sync::Mutex::new(())) }))
        }
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self {
            Self::Sqlite(db) => SQLITE_MIGRATIONS.run(&db.pool).await,
            Self::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// A transaction that may write. On SQLite it takes the write lock up front (`BEGIN
    /// IMMEDIATE`), so a read-then-write cannot fail with a stale snapshot under concurrency.
    pub async fn write(&self) -> Result<Tx, sqlx::Error> {
        match self {
            Self::Sqlite(db) => {
                let gate = db.write_gate.clone().lock_owned().await;
                Ok(Tx::Sqlite(SqliteWrite { tx: db.pool.begin_with("BEGIN IMMEDIATE").await?, _gate: gate }))
            }
            Self::Postgres(pool) => Ok(Tx::Postgres(pool.begin().await?)),
        }
    }

    /// A connection for reading: each statement sees a consistent snapshot of its own.
    pub async fn read(&self) -> Result<Tx, sqlx::Error> {
        match self {
            Self::Sqlite(db) => Ok(Tx::SqliteRead(db.pool.acquire().await?)),
            Self::Postgres(pool) => Ok(Tx::PostgresRead(pool.acquire().await?)),
        }
    }

    /// Round-trips a trivial query; used by the health check.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(db) => sqlx::query("SELECT 1").execute(&db.pool).await.map(drop),
            Self::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
        }
    }

    pub async fn close(&self) {
        match self {
            Self::Sqlite(db) => db.pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

impl Tx {
    /// `group_concat`/`string_agg` of role names: the one spelling that differs between the two
    /// backends.
    pub(crate) fn roles_aggregate(&self) -> &'static str {
        match self {
            Tx::Postgres(_) | Tx::PostgresRead(_) => "string_agg(r.role, ',')",
            Tx::Sqlite(_) | Tx::SqliteRead(_) => "group_concat(r.role, ',')",
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(write) => write.tx.commit().await,
            Self::SqliteRead(_) | Self::PostgresRead(_) => Ok(()),
            Self::Postgres(tx) => tx.commit().await,
        }
    }
}
