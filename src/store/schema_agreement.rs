//! The two migration trees are written by hand, once per backend. This test migrates a fresh
//! database of each and compares what the store relies on: the same tables, the same columns
//! with the same nullability, the same indexes by name, the same unique column sets (and
//! whether each is partial), and the same foreign keys with their `ON DELETE` actions. Column
//! types are not compared: they differ by design (TEXT timestamps on SQLite, `timestamptz` on
//! PostgreSQL) and the store's own tests cover their round trips.
//!
//! It needs PostgreSQL, so it runs in the suite's PostgreSQL passes (`TENANTRY_TEST_DB=postgres`).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Row;

use super::Db;
use crate::testing;

#[derive(Debug, Default, Clone)]
struct Schema {
    /// `table.column` → NOT NULL (a primary key column counts as NOT NULL: PostgreSQL makes it
    /// so, and SQLite only forgets to say it).
    columns: BTreeMap<String, bool>,
    /// `table: index` for the indexes the migrations create by name.
    indexes: BTreeSet<String>,
    /// `table (columns)` for every unique constraint or index, with ` partial` when it has a
    /// `WHERE` clause (an expression such as `lower(name)` shows as `<expression>`).
    uniques: BTreeSet<String>,
    /// `table (columns) -> table (columns) ON DELETE action`.
    foreign_keys: BTreeSet<String>,
}

impl Schema {
    fn tables(&self) -> BTreeSet<&str> {
        self.columns.keys().filter_map(|c| c.split_once('.')).map(|(t, _)| t).collect()
    }
}

async fn sqlite_schema(db: &Db) -> Schema {
    let Db::Sqlite(db) = db else { unreachable!() };
    let pool = &db.pool;
    let mut schema = Schema::default();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_sqlx%' ESCAPE '\\'")
            .fetch_all(pool)
            .await
            .unwrap();
    for table in tables {
        for row in sqlx::query("SELECT name, \"notnull\", pk FROM pragma_table_info(?)").bind(&table).fetch_all(pool).await.unwrap() {
            let (name, not_null, pk): (String, i64, i64) = (row.get(0), row.get(1), row.get(2));
            schema.columns.insert(format!("{table}.{name}"), not_null == 1 || pk > 0);
        }
        for row in sqlx::query("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?)").bind(&table).fetch_all(pool).await.unwrap() {
            let (index, unique, origin, partial): (String, i64, String, i64) = (row.get(0), row.get(1), row.get(2), row.get(3));
            if origin == "c" {
                schema.indexes.insert(format!("{table}: {index}"));
            }
            if unique == 1 && origin != "pk" {
                let columns: Vec<Option<String>> =
                    sqlx::query_scalar("SELECT name FROM pragma_index_info(?) ORDER BY seqno").bind(&index).fetch_all(pool).await.unwrap();
                let columns: Vec<String> = columns.into_iter().map(|c| c.unwrap_or_else(|| "<expression>".into())).collect();
                schema.uniques.insert(format!("{table} ({}){}", columns.join(", "), if partial == 1 { " partial" } else { "" }));
            }
        }
        let mut keys: BTreeMap<i64, (String, Vec<String>, Vec<String>, String)> = BTreeMap::new();
        let rows = sqlx::query("SELECT id, \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq")
            .bind(&table)
            .fetch_all(pool)
            .await
            .unwrap();
        for row in rows {
            let key = keys.entry(row.get(0)).or_insert_with(|| (row.get(1), Vec::new(), Vec::new(), row.get(4)));
            key.1.push(row.get(2));
            key.2.push(row.get::<Option<String>, _>(3).unwrap_or_else(|| "<primary key>".into()));
        }
        for (target, from, to, on_delete) in keys.into_values() {
            schema.foreign_keys.insert(format!("{table} ({}) -> {target} ({}) ON DELETE {on_delete}", from.join(", "), to.join(", ")));
        }
    }
    schema
}

async fn postgres_schema(db: &Db) -> Schema {
    let Db::Postgres(db) = db else { unreachable!() };
    let pool = &db.pool;
    let mut schema = Schema::default();
    let rows = sqlx::query(
        "SELECT table_name::text, column_name::text, is_nullable = 'NO' FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for row in rows {
        schema.columns.insert(format!("{}.{}", row.get::<String, _>(0), row.get::<String, _>(1)), row.get(2));
    }
    // The columns of an index or constraint, in order, as `a, b`.
    let columns_of = |relation: &str, keys: &str| {
        format!(
            "(SELECT string_agg(COALESCE(a.attname::text, '<expression>'), ', ' ORDER BY k.o) FROM unnest({keys}) WITH ORDINALITY k(n, o) \
             LEFT JOIN pg_attribute a ON a.attrelid = {relation} AND a.attnum = k.n)"
        )
    };
    let sql = format!(
        "SELECT t.relname::text, i.relname::text, x.indisunique, x.indpred IS NOT NULL, \
                EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid), x.indisprimary, {} \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
         WHERE t.relnamespace = current_schema()::regnamespace AND t.relname NOT LIKE '\\_sqlx%'",
        columns_of("t.oid", "x.indkey::int2[]")
    );
    for row in sqlx::query(&sql).fetch_all(pool).await.unwrap() {
        let (table, index, unique, partial, backs_constraint, primary, columns): (String, String, bool, bool, bool, bool, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4), row.get(5), row.get(6));
        if !backs_constraint {
            schema.indexes.insert(format!("{table}: {index}"));
        }
        if unique && !primary {
            schema.uniques.insert(format!("{table} ({columns}){}", if partial { " partial" } else { "" }));
        }
    }
    let sql = format!(
        "SELECT c.conrelid::regclass::text, {}, c.confrelid::regclass::text, {}, \
                CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'r' THEN 'RESTRICT' \
                                   WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END \
         FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace",
        columns_of("c.conrelid", "c.conkey"),
        columns_of("c.confrelid", "c.confkey")
    );
    for row in sqlx::query(&sql).fetch_all(pool).await.unwrap() {
        let (table, from, target, to, on_delete): (String, String, String, String, String) = (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        schema.foreign_keys.insert(format!("{table} ({from}) -> {target} ({to}) ON DELETE {on_delete}"));
    }
    schema
}

/// What one side has and the other lacks, for a message that names each difference.
fn differences<T: Ord + std::fmt::Debug>(what: &str, sqlite: &BTreeSet<T>, postgres: &BTreeSet<T>) -> Vec<String> {
    let mut out = Vec::new();
    for only in sqlite.difference(postgres) {
        out.push(format!("{what} only on SQLite: {only:?}"));
    }
    for only in postgres.difference(sqlite) {
        out.push(format!("{what} only on PostgreSQL: {only:?}"));
    }
    out
}

fn compare(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut out = differences("table", &sqlite.tables(), &postgres.tables());
    let nullability = |s: &Schema| s.columns.iter().map(|(c, nn)| format!("{c} {}", if *nn { "NOT NULL" } else { "NULL" })).collect::<BTreeSet<_>>();
    out.extend(differences("column", &nullability(sqlite), &nullability(postgres)));
    out.extend(differences("index", &sqlite.indexes, &postgres.indexes));
    out.extend(differences("unique", &sqlite.uniques, &postgres.uniques));
    out.extend(differences("foreign key", &sqlite.foreign_keys, &postgres.foreign_keys));
    out
}

#[tokio::test]
async fn the_sqlite_and_postgresql_migrations_make_the_same_schema() {
    if testing::backend() != "postgres" {
        eprintln!("skipped: the schema comparison runs in the PostgreSQL passes (TENANTRY_TEST_DB=postgres)");
        return;
    }
    let dir = std::env::temp_dir().join("tenantry-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("schema_{}.sqlite", uuid::Uuid::new_v4().simple()));
    let sqlite = Db::connect(&format!("sqlite://{}?mode=rwc", file.display())).await.unwrap();
    sqlite.migrate().await.unwrap();
    let postgres = Db::connect(&testing::fresh_direct_postgres_url(false).await).await.unwrap();
    postgres.migrate().await.unwrap();
    let (lite, pg) = (sqlite_schema(&sqlite).await, postgres_schema(&postgres).await);
    // The comparison sees what it should: both sides are populated with the tables the store uses.
    assert!(lite.tables().contains("invitations") && pg.tables().contains("webhook_deliveries"), "{lite:?}");
    assert!(lite.indexes.len() > 10 && lite.uniques.len() > 5 && lite.foreign_keys.len() > 20, "{lite:?}");
    let problems = compare(&lite, &pg);
    assert!(problems.is_empty(), "the migration trees disagree:\n{}", problems.join("\n"));
    sqlite.close().await;
    postgres.close().await;
    let _ = std::fs::remove_file(file);
}

/// The comparison itself notices each kind of difference (so a broken query that read nothing
/// on both sides could not pass the test above either).
#[test]
fn each_kind_of_difference_is_named() {
    let base = Schema {
        columns: [("t.a".to_string(), true), ("t.b".to_string(), false)].into(),
        indexes: ["t: t_a".to_string()].into(),
        uniques: ["t (a)".to_string()].into(),
        foreign_keys: ["t (b) -> u (id) ON DELETE CASCADE".to_string()].into(),
    };
    assert!(compare(&base, &base.clone()).is_empty());
    let mut other = base.clone();
    other.columns.insert("t.b".into(), true);
    other.columns.insert("v.x".into(), false);
    other.indexes.clear();
    other.uniques = ["t (a) partial".to_string()].into();
    other.foreign_keys = ["t (b) -> u (id) ON DELETE SET NULL".to_string()].into();
    let problems = compare(&base, &other);
    for expected in [
        "table only on PostgreSQL: \"v\"",
        "column only on SQLite: \"t.b NULL\"",
        "column only on PostgreSQL: \"t.b NOT NULL\"",
        "index only on SQLite: \"t: t_a\"",
        "unique only on PostgreSQL: \"t (a) partial\"",
        "foreign key only on SQLite: \"t (b) -> u (id) ON DELETE CASCADE\"",
    ] {
        assert!(problems.iter().any(|p| p == expected), "{expected} missing from {problems:#?}");
    }
}
