//! PostgreSQL row-level security: with a tenant's scope set, the database itself hides and
//! refuses every other tenant's rows, even for a query with no `WHERE tenant_id`. These tests
//! always run as the ordinary role `testing::APP_ROLE` with the policies on (whatever mode the
//! rest of the suite runs in); on SQLite, which has no row-level security, they do nothing.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{member, meta, rollup_moment, tenant_with_admin};
use crate::{
    service::{InviteInput, Raw, Services},
    store::{rls::TENANT_TABLES, Conn, Reader},
    testing,
};

fn postgres(tx: &mut Reader) -> &mut PgConnection {
    match tx.conn_mut() {
        Conn::PostgresWrite(t) => t,
        Conn::PostgresRead(c) => c,
        _ => panic!("not a PostgreSQL connection"),
    }
}

/// The distinct tenants a query with no tenant filter finds in `table`. A simple query (no
/// prepared statement), so it is also safe on a raw connection through a transaction pooler.
async fn tenants_in(conn: &mut PgConnection, table: &str, column: &str) -> Vec<Uuid> {
    use sqlx::Row;
    sqlx::raw_sql(&format!("SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY 1"))
        .fetch_all(conn)
        .await
        .unwrap_or_else(|e| panic!("reading {table}: {e}"))
        .iter()
        .map(|row| row.get::<Uuid, _>(0))
        .collect()
}

/// Two tenants, each with an admin, a member, a role, an invitation, its mail and audit rows, a
/// custom role, an API key and an import job, reported usage, a fired quota alert and a counted
/// API call, a security policy, a webhook with a delivery and an event, and yesterday's
/// metrics rolled up: something of B's in every tenant-owned table.
async fn two_populated_tenants(services: &Services) -> (Uuid, Uuid) {
    let mut ids = Vec::new();
    let (root, _) = services.create_superuser("root@platform.test", Some(super::PASSWORD)).await.expect("superuser");
    let root = services.actor_for(root.id, None).await.unwrap().unwrap();
    for name in ["Alpha", "Beta"] {
        let (tenant, admin) = tenant_with_admin(services, name).await;
        member(services, &admin, &format!("member@{}.example.com", name.to_lowercase())).await;
        let invite = InviteInput { email: Raw::text(&format!("new@{}.example.com", name.to_lowercase())), role: Raw::text("VIEWER") };
        services.invite(&admin, None, invite, &meta()).await.expect("invite");
        // A custom role, an API key and a previewed import job (with its rows).
        let role = crate::service::RoleInput { name: Raw::text("ops"), permissions: crate::service::RawList::Items(vec!["members:read".into()]), ..Default::default() };
        services.create_role(&admin, role, &meta()).await.expect("role");
        let key = crate::service::ApiKeyInput { name: Raw::text("k"), scopes: crate::service::RawList::Items(vec!["members:read".into()]), ..Default::default() };
        let key = services.create_api_key(&admin, key, &meta()).await.expect("key");
        // A plan with limits: reported usage, a fired alert, and a counted API call.
        let limits = serde_json::json!({"max_assets": 10, "max_api_calls_per_day": 100});
        let change = crate::service::PlanChange { plan: Raw::text("basic"), limits: Some(limits), force: false };
        services.change_plan(&root, tenant.id, change, &meta()).await.expect("plan");
        let usage = serde_json::json!({"assets": 9}).as_object().unwrap().clone();
        services.set_usage(&admin, tenant.id, &usage, &meta()).await.expect("usage");
        services.actor_from_api_key(&key.secret, &meta()).await.expect("a key call");
        let rows = vec![crate::service::ImportRow { email: Some(format!("later@{}.example.com", name.to_lowercase())), ..Default::default() }];
        services.preview_import(&admin, crate::service::ImportInput { rows, ..Default::default() }).await.expect("import job");
        services.set_security_policy(&admin, tenant.id, &serde_json::json!({"password_policy": {"min_length": 10}}), &meta()).await.expect("security policy");
        // A webhook (an address written out: no name to resolve) with the invitation's event
        // fanned out to it, and one event still waiting.
        let hook = crate::service::WebhookInput {
            url: Raw::text("https://93.184.216.34/hook"),
            events: crate::service::RawList::Items(vec!["*".into()]),
            ..Default::default()
        };
        services.create_webhook(&admin, hook, &meta()).await.expect("webhook");
        let invite = InviteInput { email: Raw::text(&format!("hooked@{}.example.com", name.to_lowercase())), role: Raw::text("VIEWER") };
        services.invite(&admin, None, invite, &meta()).await.expect("invite");
        let options = crate::webhooks::WebhookWorkerOptions::for_services(services);
        crate::webhooks::worker::fan_out(services, &options, chrono::Utc::now()).await.expect("fan-out");
        services.invite(&admin, None, InviteInput { email: Raw::text(&format!("waiting@{}.example.com", name.to_lowercase())), role: Raw::Missing }, &meta()).await.expect("invite");
        // Yesterday's sign-in, rolled up.
        let mut tx = services.db().write().await.unwrap();
        let entry = crate::store::NewAuditEntry {
            tenant_id: Some(tenant.id),
            actor_id: Some(admin.user_id),
            actor_email: Some(admin.email.clone()),
            action: crate::domain::AuditAction::LoginSucceeded,
            resource_type: "user",
            resource_id: None,
            metadata: serde_json::json!({}),
            ip_address: None,
            user_agent: None,
        };
        tx.insert_audit(&entry, chrono::Utc::now() - chrono::Duration::days(1)).await.unwrap();
        tx.commit().await.unwrap();
        ids.push(tenant.id.0);
    }
    services.roll_up_metrics(rollup_moment(), 3).await.expect("roll-up");
    (ids[0], ids[1])
}

#[tokio::test]
async fn a_query_without_a_tenant_filter_sees_only_the_callers_tenant() {
    if testing::backend() != "postgres" {
        return;
    }
    let services = testing::rls_services().await;
    let db = services.db();
    assert_eq!(
        db.role_bypasses_rls().await.unwrap(),
        Some((testing::APP_ROLE.to_owned(), false)),
        "the proof needs a role the policies bind"
    );
    let (a, b) = two_populated_tenants(&services).await;
    let mut both = vec![a, b];
    both.sort();

    for (table, column) in TENANT_TABLES {
        // Across tenants (sign-up, login, the worker): everything.
        let mut tx = db.read().await.unwrap();
        assert_eq!(tenants_in(postgres(&mut tx), table, column).await, both, "{table} unscoped");
        drop(tx);
        // Scoped to A, for reading and for writing: only A, although the query never says so.
        let mut tx = db.read_in(crate::domain::TenantId(a)).await.unwrap();
        assert_eq!(tenants_in(postgres(&mut tx), table, column).await, vec![a], "{table} read in A");
        drop(tx);
        let mut tx = db.write_in(crate::domain::TenantId(a)).await.unwrap();
        assert_eq!(tenants_in(postgres(&mut tx), table, column).await, vec![a], "{table} write in A");
        drop(tx);
        // A pooled connection does not keep the previous caller's tenant.
        let mut tx = db.read_in(crate::domain::TenantId(b)).await.unwrap();
        assert_eq!(tenants_in(postgres(&mut tx), table, column).await, vec![b], "{table} read in B after A");
    }

    // A server starting on a database whose policies are on notices, and narrows its reads.
    let restarted = crate::store::Db::connect(&services.config().database_url).await.unwrap();
    restarted.migrate().await.unwrap();
    for (table, column) in TENANT_TABLES {
        let mut tx = restarted.read_in(crate::domain::TenantId(a)).await.unwrap();
        assert_eq!(tenants_in(postgres(&mut tx), table, column).await, vec![a], "{table} read in A after a restart");
    }
}

/// `list_stats` keeps a row per tenant and one of the nil tenant (account changes, shown in
/// every tenant's lists): in a tenant's scope only its own row and the shared one are there,
/// and a connection with no scope sees the shared one alone, which holds nothing of any tenant.
#[tokio::test]
async fn list_stats_shows_a_tenant_its_own_row_and_the_shared_one_only() {
    if testing::backend() != "postgres" {
        return;
    }
    let services = testing::rls_services().await;
    let db = services.db();
    let (a, b) = two_populated_tenants(&services).await;
    let shared: Uuid = crate::store::rls::SHARED_ROW_TENANT.parse().unwrap();
    // An account change made in A's scope counts in the shared row: the policy lets it write.
    let mut tx = db.write_in(crate::domain::TenantId(a)).await.unwrap();
    sqlx::query("UPDATE users SET first_name = 'Renamed' WHERE email = 'member@alpha.example.com'")
        .execute(postgres(&mut tx))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let sorted = |mut ids: Vec<Uuid>| {
        ids.sort();
        ids
    };
    let mut tx = db.read().await.unwrap();
    assert_eq!(tenants_in(postgres(&mut tx), "list_stats", "tenant_id").await, sorted(vec![a, b, shared]), "unscoped");
    drop(tx);
    for tenant in [a, b] {
        let mut tx = db.read_in(crate::domain::TenantId(tenant)).await.unwrap();
        assert_eq!(tenants_in(postgres(&mut tx), "list_stats", "tenant_id").await, sorted(vec![tenant, shared]), "read in one tenant");
        drop(tx);
        let mut tx = db.write_in(crate::domain::TenantId(tenant)).await.unwrap();
        assert_eq!(tenants_in(postgres(&mut tx), "list_stats", "tenant_id").await, sorted(vec![tenant, shared]), "write in one tenant");
    }
    let url = services.config().database_url.clone();
    let mut conn = <PgConnection as sqlx::Connection>::connect(&url).await.unwrap();
    assert_eq!(tenants_in(&mut conn, "list_stats", "tenant_id").await, vec![shared], "without a scope: the shared row alone");
}

#[tokio::test]
async fn a_transaction_scoped_to_one_tenant_cannot_change_another_tenants_rows() {
    if testing::backend() != "postgres" {
        return;
    }
    let services = testing::rls_services().await;
    let db = services.db();
    let (a, b) = two_populated_tenants(&services).await;

    let mut tx = db.write_in(crate::domain::TenantId(a)).await.unwrap();
    let conn = postgres(&mut tx);
    // UPDATE and DELETE without a tenant filter touch only A's rows.
    let renamed = sqlx::query("UPDATE tenants SET name = name || ' (renamed)'").execute(&mut *conn).await.unwrap();
    assert_eq!(renamed.rows_affected(), 1);
    let deleted = sqlx::query("DELETE FROM invitations").execute(&mut *conn).await.unwrap();
    assert_eq!(deleted.rows_affected(), 3, "A's three invitations");
    // Writing a row for B is refused outright.
    let insert = sqlx::query(
        "INSERT INTO audit_log (id, tenant_id, action, resource_type, metadata, created_at) \
         VALUES ($1, $2, 'forged', 'tenant', '{}', now())",
    )
    .bind(Uuid::new_v4())
    .bind(b)
    .execute(&mut *conn)
    .await
    .expect_err("a row of another tenant violates the policy");
    assert!(insert.to_string().contains("row-level security"), "{insert}");
    drop(tx); // rolled back

    // Nothing of B's changed.
    let mut tx = db.read_in(crate::domain::TenantId(b)).await.unwrap();
    let conn = postgres(&mut tx);
    let name: String = sqlx::query_scalar("SELECT name FROM tenants").fetch_one(&mut *conn).await.unwrap();
    assert_eq!(name, "Beta");
    let invitations: i64 = sqlx::query_scalar("SELECT count(*) FROM invitations").fetch_one(&mut *conn).await.unwrap();
    assert_eq!(invitations, 3);
}

#[tokio::test]
async fn a_connection_that_never_set_a_tenant_sees_nothing() {
    if testing::backend() != "postgres" {
        return;
    }
    let services = testing::rls_services().await;
    two_populated_tenants(&services).await;
    // A session opened outside the store (say, a script as the application role): fail closed.
    let url = services.config().database_url.clone();
    let mut conn = <PgConnection as sqlx::Connection>::connect(&url).await.unwrap();
    for (table, column) in TENANT_TABLES {
        assert!(tenants_in(&mut conn, table, column).await.is_empty(), "{table} without a scope");
    }
}

/// Behind a transaction-pooling PgBouncer (the suite's pass through `.ci/pgbouncer`), each
/// transaction of a connection may land on another server connection, and other clients'
/// transactions run on the same ones in between: a tenant scope kept in the server session
/// would be read by whoever comes next. Two independent pools (two replicas) reading in two
/// tenants at once must each see only their own tenant, statement after statement. Without a
/// pooler this holds by construction; the pooler pass is where it can fail.
#[tokio::test]
async fn concurrent_reads_in_two_tenants_from_two_pools_each_see_only_their_own() {
    if testing::backend() != "postgres" {
        return;
    }
    let services = testing::rls_services().await;
    let (a, b) = two_populated_tenants(&services).await;
    let url = &services.config().database_url;
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let db = crate::store::Db::connect(url).await.unwrap();
        db.migrate().await.unwrap();
        replicas.push(db);
    }
    // All in flight at once, interleaving at every round trip.
    let reads = (0..200).map(|round| {
        let (db, tenant) = (&replicas[round % 2], if round % 2 == 0 { a } else { b });
        async move {
            let mut tx = db.read_in(crate::domain::TenantId(tenant)).await.unwrap();
            let first = tenants_in(postgres(&mut tx), "memberships", "tenant_id").await;
            tokio::task::yield_now().await;
            let second = tenants_in(postgres(&mut tx), "invitations", "tenant_id").await;
            tx.commit().await.unwrap();
            (tenant, first, second)
        }
    });
    for (tenant, first, second) in futures_util::future::join_all(reads).await {
        assert_eq!(first, vec![tenant], "memberships read in {tenant}");
        assert_eq!(second, vec![tenant], "invitations read in {tenant}, after another statement");
    }
}
