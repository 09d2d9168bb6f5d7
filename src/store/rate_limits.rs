//! `rate_limit_hits`: the attempt counters that replicas on one PostgreSQL share (see
//! `service::limits`). Each check is one autocommit statement on the limits' own small pool —
//! no BEGIN/COMMIT round trips — because a single `INSERT … ON CONFLICT DO UPDATE` is atomic
//! on its own; behind a transaction pooler it is wrapped in a transaction all the same.

use chrono::{DateTime, Utc};

use super::Db;

/// One sliding-window check: the counter of `window_start` plus the previous window's counter
/// weighted by how much of it still overlaps the last window length.
#[derive(Debug, Clone, Copy)]
pub struct WindowCheck<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub window_start: DateTime<Utc>,
    pub previous_start: DateTime<Utc>,
    /// 1.0 at the start of the window, falling to 0.0 at its end.
    pub previous_weight: f64,
    pub limit: u32,
}

impl Db {
    /// Counts one hit when the estimate of hits in the last window length stays under the
    /// limit, and says whether it did. The previous window's share is rounded up (`x <= limit -
    /// 1` for whole `hits` is `hits + ceil(share) < limit`), so a burst just before a window
    /// edge still counts in full just after it. Two replicas checking the same key at once serialise on
    /// the row, and the condition is evaluated against the latest count, so exactly `limit`
    /// hits get through however the calls are spread. A refused hit is not counted.
    pub async fn count_rate_limit_hit(&self, check: WindowCheck<'_>) -> Result<bool, sqlx::Error> {
        // The previous window's weighted hits, in both the INSERT's guard (first hit of the
        // window) and the UPDATE's (every later one).
        const PREVIOUS: &str = "COALESCE((SELECT p.hits FROM rate_limit_hits p \
                                WHERE p.bucket = $1 AND p.key = $2 AND p.window_start = $4), 0) * $5";
        let sql = format!(
            "INSERT INTO rate_limit_hits AS r (bucket, key, window_start, hits) \
             SELECT $1, $2, $3, 1 WHERE {PREVIOUS} <= $6 \
             ON CONFLICT (bucket, key, window_start) DO UPDATE SET hits = r.hits + 1 \
             WHERE r.hits + {PREVIOUS} <= $6 \
             RETURNING hits"
        );
        let below = f64::from(check.limit) - 1.0;
        let counted: Option<i32> = match self {
            Db::Postgres(db) => {
                let query = sqlx::query_scalar(&sql)
                    .bind(check.bucket)
                    .bind(check.key)
                    .bind(check.window_start)
                    .bind(check.previous_start)
                    .bind(check.previous_weight)
                    .bind(below);
                if db.pooled() {
                    // Behind a transaction pooler nothing may run outside a transaction.
                    let mut tx = db.begin_limits().await?;
                    let counted = query.fetch_optional(&mut *tx).await?;
                    tx.commit().await?;
                    counted
                } else {
                    query.fetch_optional(&db.limits).await?
                }
            }
            Db::Sqlite(db) => {
                // Not used by the service (SQLite limits live in process) but kept working so
                // the query has one meaning on both backends.
                let _gate = db.write_gate.clone().lock_owned().await;
                sqlx::query_scalar(&sql)
                    .bind(check.bucket)
                    .bind(check.key)
                    .bind(check.window_start)
                    .bind(check.previous_start)
                    .bind(check.previous_weight)
                    .bind(below)
                    .fetch_optional(&db.pool)
                    .await?
            }
        };
        Ok(counted.is_some())
    }

    /// Deletes the counters of windows that began before `before`; returns how many.
    pub async fn forget_rate_limit_windows(&self, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        let sql = "DELETE FROM rate_limit_hits WHERE window_start < $1";
        match self {
            Db::Postgres(db) if db.pooled() => {
                let mut tx = db.begin_limits().await?;
                let deleted = sqlx::query(sql).bind(before).execute(&mut *tx).await?.rows_affected();
                tx.commit().await?;
                Ok(deleted)
            }
            Db::Postgres(db) => sqlx::query(sql).bind(before).execute(&db.limits).await.map(|r| r.rows_affected()),
            Db::Sqlite(db) => {
                let _gate = db.write_gate.clone().lock_owned().await;
                sqlx::query(sql).bind(before).execute(&db.pool).await.map(|r| r.rows_affected())
            }
        }
    }
}
