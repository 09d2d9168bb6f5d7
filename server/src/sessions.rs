//! Browser sessions kept in the application database (SQLite or PostgreSQL, whichever the
//! service layer uses), so any number of server replicas can share them.

use async_trait::async_trait;
use tenantry::store::Db;
use tower_sessions::{
    session::{Id, Record},
    session_store, SessionStore,
};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

#[derive(Clone, Debug)]
pub enum DbSessionStore {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl DbSessionStore {
    /// Creates the session table if needed.
    pub async fn open(db: &Db) -> anyhow::Result<Self> {
        Ok(match db {
            Db::Sqlite(db) => {
                let store = SqliteStore::new(db.pool.clone()).with_table_name("sessions").map_err(anyhow::Error::msg)?;
                store.migrate().await?;
                Self::Sqlite(store)
            }
            Db::Postgres(db) => {
                let store = PostgresStore::new(db.pool.clone())
                    .with_schema_name("public")
                    .map_err(anyhow::Error::msg)?
                    .with_table_name("sessions")
                    .map_err(anyhow::Error::msg)?;
                store.migrate().await?;
                Self::Postgres(store)
            }
        })
    }

    /// Deletes expired sessions every hour, in the background.
    pub fn spawn_cleanup(&self) {
        use tower_sessions::ExpiredDeletion;
        let store = self.clone();
        tokio::spawn(async move {
            let every = std::time::Duration::from_secs(3600);
            let result = match store {
                Self::Sqlite(s) => s.continuously_delete_expired(every).await,
                Self::Postgres(s) => s.continuously_delete_expired(every).await,
            };
            if let Err(error) = result {
                tracing::warn!(%error, "session cleanup stopped");
            }
        });
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.create(record).await,
            Self::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.save(record).await,
            Self::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Sqlite(s) => s.load(id).await,
            Self::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete(id).await,
            Self::Postgres(s) => s.delete(id).await,
        }
    }
}
