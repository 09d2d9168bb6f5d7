//! Browser sessions kept in the application database (SQLite or PostgreSQL, whichever the
//! service layer uses), so any number of server replicas can share them. The table and its
//! queries belong to the store (`sessions`, migration 0017); this adapts them to
//! tower-sessions. Records are MessagePack, the encoding tower-sessions' own SQL stores used,
//! so sessions written before the store moved here still load.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tenantry::store::Db;
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, Error},
    SessionStore,
};

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    /// The table itself is made by the migrations.
    pub fn new(db: &Db) -> Self {
        Self { db: db.clone() }
    }

    /// Deletes expired sessions every hour, in the background.
    pub fn spawn_cleanup(&self) {
        let db = self.db.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                every.tick().await;
                if let Err(error) = delete_expired(&db).await {
                    tracing::warn!(%error, "deleting expired sessions failed; trying again in an hour");
                }
            }
        });
    }
}

async fn delete_expired(db: &Db) -> session_store::Result<u64> {
    let mut tx = db.write().await.map_err(backend)?;
    let deleted = tx.delete_expired_sessions(Utc::now()).await.map_err(backend)?;
    tx.commit().await.map_err(backend)?;
    Ok(deleted)
}

fn backend(error: impl std::fmt::Display) -> Error {
    Error::Backend(error.to_string())
}

fn expiry(record: &Record) -> DateTime<Utc> {
    DateTime::from_timestamp(record.expiry_date.unix_timestamp(), 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn encode(record: &Record) -> session_store::Result<Vec<u8>> {
    rmp_serde::to_vec(record).map_err(|e| Error::Encode(e.to_string()))
}

#[async_trait]
impl SessionStore for DbSessionStore {
    /// Stores a new record under a fresh id, drawing another in the (astronomically unlikely)
    /// case that the id is taken, so one browser never receives another's session.
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let mut tx = self.db.write().await.map_err(backend)?;
        loop {
            let data = encode(record)?;
            if tx.insert_session(&record.id.to_string(), &data, expiry(record)).await.map_err(backend)? {
                break;
            }
            record.id = Id::default();
        }
        tx.commit().await.map_err(backend)
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = encode(record)?;
        let mut tx = self.db.write().await.map_err(backend)?;
        tx.save_session(&record.id.to_string(), &data, expiry(record)).await.map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let mut tx = self.db.read().await.map_err(backend)?;
        let data = tx.session_data(&id.to_string(), Utc::now()).await.map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        data.map(|data| rmp_serde::from_slice(&data).map_err(|e| Error::Decode(e.to_string()))).transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let mut tx = self.db.write().await.map_err(backend)?;
        tx.delete_session(&id.to_string()).await.map_err(backend)?;
        tx.commit().await.map_err(backend)
    }
}
