//! `sessions`: browser sessions, stored for the server's session layer as opaque bytes with
//! an expiry. They go through [`Tx`] like every other table rather than through a pool of
//! their own, so their writes queue on SQLite's write gate and, behind a transaction-pooling
//! PgBouncer, every statement runs inside a transaction (see [`super::Db`]).
//!
//! Expiry times travel as whole seconds since the epoch: SQLite keeps them as such (an
//! `INTEGER` column), PostgreSQL converts them with `to_timestamp` into its `timestamptz`.

use chrono::{DateTime, Utc};

use super::{on, Backend, Reader, Tx};

impl Reader {
    /// `expiry_date` as the backend compares it with a bound number of seconds.
    fn expiry_expression(&self) -> &'static str {
        match self.backend() {
            Backend::Postgres => "to_timestamp($1)",
            Backend::Sqlite => "$1",
        }
    }

    /// The data of session `id` if it has not expired at `now`.
    #[tracing::instrument(skip_all)]
    pub async fn session_data(&mut self, id: &str, now: DateTime<Utc>) -> Result<Option<Vec<u8>>, sqlx::Error> {
        let sql = format!("SELECT data FROM sessions WHERE expiry_date > {} AND id = $2", self.expiry_expression());
        on!(self, c => sqlx::query_scalar(&sql).bind(now.timestamp()).bind(id).fetch_optional(c).await)
    }
}

impl Tx {

    /// Stores a new session; false, writing nothing, when `id` is taken.
    #[tracing::instrument(skip_all)]
    pub async fn insert_session(&mut self, id: &str, data: &[u8], expiry: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let sql = format!(
            "INSERT INTO sessions (expiry_date, id, data) VALUES ({}, $2, $3) ON CONFLICT (id) DO NOTHING",
            self.expiry_expression()
        );
        let rows = on!(self, c => sqlx::query(&sql).bind(expiry.timestamp()).bind(id).bind(data).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(rows == 1)
    }

    /// Stores session `id`, replacing what it held.
    #[tracing::instrument(skip_all)]
    pub async fn save_session(&mut self, id: &str, data: &[u8], expiry: DateTime<Utc>) -> Result<(), sqlx::Error> {
        let sql = format!(
            "INSERT INTO sessions (expiry_date, id, data) VALUES ({}, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expiry_date = excluded.expiry_date",
            self.expiry_expression()
        );
        on!(self, c => sqlx::query(&sql).bind(expiry.timestamp()).bind(id).bind(data).execute(c).await.map(drop))
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete_session(&mut self, id: &str) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id).execute(c).await.map(drop))
    }

    /// Deletes every session expired at `now`; returns how many.
    #[tracing::instrument(skip_all)]
    pub async fn delete_expired_sessions(&mut self, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        let sql = format!("DELETE FROM sessions WHERE expiry_date <= {}", self.expiry_expression());
        on!(self, c => sqlx::query(&sql).bind(now.timestamp()).execute(c).await.map(|r| r.rows_affected()))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use crate::{store::Db, testing};

    async fn db() -> Db {
        let db = Db::connect(&testing::fresh_database_url().await).await.unwrap();
        db.migrate().await.unwrap();
        db
    }

    #[tokio::test]
    async fn a_session_reads_back_until_it_expires_and_a_save_replaces_it() {
        let db = db().await;
        let now = Utc::now();
        let mut tx = db.write().await.unwrap();
        assert!(tx.insert_session("a", b"first", now + Duration::seconds(60)).await.unwrap());
        assert!(!tx.insert_session("a", b"other", now + Duration::seconds(60)).await.unwrap(), "a taken id is refused");
        tx.commit().await.unwrap();

        let mut read = db.read().await.unwrap();
        assert_eq!(read.session_data("a", now).await.unwrap().as_deref(), Some(&b"first"[..]));
        assert_eq!(read.session_data("a", now + Duration::seconds(59)).await.unwrap().as_deref(), Some(&b"first"[..]));
        assert_eq!(read.session_data("a", now + Duration::seconds(60)).await.unwrap(), None, "expired at its expiry");
        assert_eq!(read.session_data("b", now).await.unwrap(), None);
        drop(read);

        let mut tx = db.write().await.unwrap();
        tx.save_session("a", b"second", now + Duration::seconds(120)).await.unwrap();
        tx.save_session("b", b"new", now - Duration::seconds(1)).await.unwrap();
        tx.commit().await.unwrap();
        let mut read = db.read().await.unwrap();
        assert_eq!(read.session_data("a", now + Duration::seconds(90)).await.unwrap().as_deref(), Some(&b"second"[..]));
        assert_eq!(read.session_data("b", now).await.unwrap(), None);
        drop(read);

        let mut tx = db.write().await.unwrap();
        assert_eq!(tx.delete_expired_sessions(now).await.unwrap(), 1, "only b has expired");
        tx.commit().await.unwrap();
        let mut read = db.read().await.unwrap();
        let before_b_expired = now - Duration::seconds(10);
        assert_eq!(read.session_data("b", before_b_expired).await.unwrap(), None, "b's row is gone, not just expired");
        assert!(read.session_data("a", before_b_expired).await.unwrap().is_some(), "a is kept");
        drop(read);
        let mut tx = db.write().await.unwrap();
        tx.delete_session("a").await.unwrap();
        tx.commit().await.unwrap();
        let mut read = db.read().await.unwrap();
        assert_eq!(read.session_data("a", now).await.unwrap(), None);
    }

    /// Installations from before migration 0017 have the table tower-sessions' own stores
    /// made, with their rows (on SQLite, expiry as RFC 3339 text): they keep their sessions.
    #[tokio::test]
    async fn sessions_stored_before_the_migration_still_load() {
        let db = Db::connect(&testing::fresh_database_url().await).await.unwrap();
        let mut tx = db.write().await.unwrap();
        let (create, rows) = match tx.backend() {
            crate::store::Backend::Sqlite => (
                "CREATE TABLE sessions (id text primary key not null, data blob not null, expiry_date integer not null)",
                "INSERT INTO sessions VALUES ('live', x'01', '2999-01-02T03:04:05.123456789Z'), \
                 ('gone', x'02', '2001-01-01T00:00:00Z'), ('garbled', x'03', 'not a time')",
            ),
            _ => (
                "CREATE TABLE sessions (id text primary key not null, data bytea not null, expiry_date timestamptz not null)",
                "INSERT INTO sessions VALUES ('live', '\\x01', '2999-01-02T03:04:05Z'), ('gone', '\\x02', '2001-01-01T00:00:00Z')",
            ),
        };
        crate::store::on!(&mut tx, c => sqlx::raw_sql(create).execute(&mut *c).await.map(drop)).unwrap();
        crate::store::on!(&mut tx, c => sqlx::raw_sql(rows).execute(&mut *c).await.map(drop)).unwrap();
        tx.commit().await.unwrap();
        db.migrate().await.unwrap();

        let now = Utc::now();
        let mut read = db.read().await.unwrap();
        assert_eq!(read.session_data("live", now).await.unwrap().as_deref(), Some(&[1u8][..]));
        let until = chrono::DateTime::parse_from_rfc3339("2999-01-02T03:04:05Z").unwrap().with_timezone(&Utc);
        assert_eq!(read.session_data("live", until).await.unwrap(), None, "it keeps its expiry to the second");
        assert_eq!(read.session_data("gone", now).await.unwrap(), None);
        drop(read);
        let mut tx = db.write().await.unwrap();
        // 'gone' is expired; SQLite's unreadable 'garbled' was removed by the migration.
        assert_eq!(tx.delete_expired_sessions(now).await.unwrap(), 1);
        tx.commit().await.unwrap();
    }
}
