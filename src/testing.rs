//! Test support shared by the service tests here and the API tests in the server crate:
//! a fresh database per test on the backend named by `TENANTRY_TEST_DB` (`sqlite`, the
//! default, or `postgres`, on `TEST_POSTGRES_URL`, default the local server).
//!
//! With `TENANTRY_TEST_RLS=1` on PostgreSQL, every test database is owned by, and the service
//! connects as, the ordinary role [`APP_ROLE`] (no SUPERUSER, no BYPASSRLS), and row-level
//! security is on: the whole suite then runs under the policies.
//!
//! With `TEST_PGBOUNCER=host:port` as well, the databases are still created on
//! `TEST_POSTGRES_URL`, but the service reaches them through the transaction-pooling PgBouncer
//! listening there (`?pooler=transaction`; `.ci/pgbouncer` runs the suite so).

use std::collections::HashMap;

use crate::{config::Config, service::Services, store::Db};

pub fn backend() -> String {
    std::env::var("TENANTRY_TEST_DB").unwrap_or_else(|_| "sqlite".into())
}

/// Whether the suite runs under row-level security (`TENANTRY_TEST_RLS=1`, PostgreSQL only).
pub fn rls() -> bool {
    backend() == "postgres" && std::env::var("TENANTRY_TEST_RLS").is_ok_and(|v| v == "1")
}

/// The ordinary role that owns the test databases in RLS mode.
pub const APP_ROLE: &str = "tenantry_app";

/// A database URL nobody else uses: a new SQLite file, or a new PostgreSQL database.
pub async fn fresh_database_url() -> String {
    if backend() == "postgres" {
        fresh_postgres_url(rls()).await
    } else {
        let dir = std::env::temp_dir().join("tenantry-tests");
        std::fs::create_dir_all(&dir).expect("temp dir");
        let name = format!("tenantry_test_{}", uuid::Uuid::new_v4().simple());
        format!("sqlite://{}?mode=rwc", dir.join(format!("{name}.sqlite")).display())
    }
}

/// The PgBouncer the suite reaches PostgreSQL through, if any (`TEST_PGBOUNCER=host:port`).
pub fn pgbouncer() -> Option<String> {
    std::env::var("TEST_PGBOUNCER").ok().filter(|v| !v.is_empty())
}

/// A new PostgreSQL database on `TEST_POSTGRES_URL`. With `as_app_role`, it is owned by
/// [`APP_ROLE`] (created if missing) and the URL connects as that role. Under
/// `TEST_PGBOUNCER`, the URL goes through that pooler.
pub async fn fresh_postgres_url(as_app_role: bool) -> String {
    let direct = fresh_direct_postgres_url(as_app_role).await;
    let Some(pooler) = pgbouncer() else { return direct };
    let (scheme, rest) = direct.split_once("://").expect("scheme://…");
    let (user, rest) = rest.rsplit_once('@').map_or(("", rest), |(user, rest)| (user, rest));
    let (_, database) = rest.split_once('/').expect("host/database");
    let at = if user.is_empty() { "" } else { "@" };
    format!("{scheme}://{user}{at}{pooler}/{database}?pooler=transaction")
}

/// [`fresh_postgres_url`] reaching PostgreSQL itself, whatever `TEST_PGBOUNCER` says.
pub async fn fresh_direct_postgres_url(as_app_role: bool) -> String {
    let name = format!("tenantry_test_{}", uuid::Uuid::new_v4().simple());
    let admin = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let pool = sqlx::PgPool::connect(&admin).await.unwrap_or_else(|e| panic!("PostgreSQL at {admin} is not reachable: {e}"));
    if as_app_role {
        // Tests run in parallel: a concurrent CREATE ROLE may win the race.
        sqlx::query(&format!(
            "DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        ))
        .execute(&pool)
        .await
        .expect("create the application role");
        sqlx::query(&format!("CREATE DATABASE {name} OWNER {APP_ROLE}")).execute(&pool).await.expect("create test database");
    } else {
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.expect("create test database");
    }
    pool.close().await;
    let (base, _) = admin.rsplit_once('/').expect("TEST_POSTGRES_URL ends with /database");
    if !as_app_role {
        return format!("{base}/{name}");
    }
    // Same server, other user: `scheme://[user[:password]@]host:port/…`.
    let (scheme, rest) = base.split_once("://").expect("TEST_POSTGRES_URL is scheme://…");
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{APP_ROLE}@{host}/{name}")
}

/// Services on a new PostgreSQL database owned by [`APP_ROLE`], migrated, with row-level
/// security on, whatever mode the suite runs in (for the tests that prove the policies).
pub async fn rls_services() -> Services {
    let url = fresh_postgres_url(true).await;
    start(&url, &[], true).await
}

/// Test configuration: a fixed secret, no rate limits, the given database.
pub fn config(database_url: &str, extra: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = [
        ("DATABASE_URL", database_url),
        ("SECRET_KEY", "test-secret-key-that-is-long-enough-for-hs256"),
        ("RATE_LIMIT_DISABLED", "1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    Config::from_lookup(|name| vars.get(name).cloned()).expect("test config is valid")
}

/// Services over a fresh, migrated database.
pub async fn services() -> Services {
    services_with(&[]).await
}

pub async fn services_with(extra: &[(&str, &str)]) -> Services {
    let url = fresh_database_url().await;
    start(&url, extra, rls()).await
}

/// A second process's services on the same database as `services` (another replica): its
/// own pools, limits and kept pages.
pub async fn replica_of(services: &Services) -> Services {
    let url = services.config().database_url.clone();
    let db = Db::connect(&url).await.expect("connect test database");
    // Applies nothing (the first one migrated) but learns whether row-level security is on.
    db.migrate().await.expect("migrate test database");
    Services::new(db, config(&url, &[]))
}

async fn start(url: &str, extra: &[(&str, &str)], rls: bool) -> Services {
    let db = Db::connect(url).await.expect("connect test database");
    db.migrate().await.expect("migrate test database");
    if rls {
        db.set_row_level_security(true).await.expect("enable row-level security");
    }
    Services::new(db, config(url, extra))
}

/// A software passkey for tests: an ES256 key pair answering WebAuthn challenges as a
/// platform authenticator would (user present and verified, "none" attestation), so that the
/// service's real WebAuthn verification runs on every test. Not a mock of the library: the
/// bytes it builds are what a browser hands over.
pub mod authenticator {
    use aws_lc_rs::{
        digest::{digest, SHA256},
        rand::SystemRandom,
        signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING},
    };
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use serde_json::{json, Value};

    /// The origin the test configuration's relying party accepts (`FRONTEND_BASE_URL`'s
    /// default, on `localhost`).
    pub const ORIGIN: &str = "http://localhost:3000";
    const RP_ID: &str = "localhost";
    /// Flags: user present, user verified; with attested credential data at registration.
    const UP_UV: u8 = 0x01 | 0x04;
    const AT: u8 = 0x40;

    pub struct SoftPasskey {
        key: EcdsaKeyPair,
        pub credential_id: Vec<u8>,
        /// The account the passkey was made for (its WebAuthn user handle).
        pub user_handle: Vec<u8>,
        counter: u32,
        pub origin: String,
    }

    impl Default for SoftPasskey {
        fn default() -> Self {
            Self::new()
        }
    }

    impl SoftPasskey {
        pub fn new() -> Self {
            let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).expect("P-256 key");
            Self { key, credential_id: uuid::Uuid::new_v4().as_bytes().to_vec(), user_handle: Vec::new(), counter: 0, origin: ORIGIN.into() }
        }

        /// The credential for `navigator.credentials.create(options)`; `options` as the
        /// service returned them (`{"publicKey": {…}}`).
        pub fn register(&mut self, options: &Value) -> Value {
            let public_key = &options["publicKey"];
            let challenge = public_key["challenge"].as_str().expect("a challenge");
            self.user_handle = URL_SAFE_NO_PAD.decode(public_key["user"]["id"].as_str().expect("a user id")).expect("base64url user id");
            let client_data = self.client_data("webauthn.create", challenge);
            let point = self.key.public_key().as_ref();
            assert_eq!(point.len(), 65, "an uncompressed P-256 point");
            let mut cose = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20];
            cose.extend_from_slice(&point[1..33]);
            cose.extend_from_slice(&[0x22, 0x58, 0x20]);
            cose.extend_from_slice(&point[33..65]);
            let mut auth_data = self.auth_data(UP_UV | AT);
            auth_data.extend_from_slice(&[0u8; 16]);
            auth_data.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
            auth_data.extend_from_slice(&self.credential_id);
            auth_data.extend_from_slice(&cose);
            let mut attestation = vec![0xa3];
            cbor_text(&mut attestation, "fmt");
            cbor_text(&mut attestation, "none");
            cbor_text(&mut attestation, "attStmt");
            attestation.push(0xa0);
            cbor_text(&mut attestation, "authData");
            cbor_bytes(&mut attestation, &auth_data);
            let id = URL_SAFE_NO_PAD.encode(&self.credential_id);
            json!({
                "id": id, "rawId": id, "type": "public-key", "extensions": {},
                "response": {"attestationObject": URL_SAFE_NO_PAD.encode(attestation), "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data)}
            })
        }

        /// The assertion for `navigator.credentials.get(options)`.
        pub fn sign(&mut self, options: &Value) -> Value {
            let challenge = options["publicKey"]["challenge"].as_str().expect("a challenge");
            let client_data = self.client_data("webauthn.get", challenge);
            self.counter += 1;
            let auth_data = self.auth_data(UP_UV);
            let mut signed = auth_data.clone();
            signed.extend_from_slice(digest(&SHA256, &client_data).as_ref());
            let signature = self.key.sign(&SystemRandom::new(), &signed).expect("sign");
            let id = URL_SAFE_NO_PAD.encode(&self.credential_id);
            json!({
                "id": id, "rawId": id, "type": "public-key", "extensions": {},
                "response": {
                    "authenticatorData": URL_SAFE_NO_PAD.encode(auth_data),
                    "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data),
                    "signature": URL_SAFE_NO_PAD.encode(signature.as_ref()),
                    "userHandle": URL_SAFE_NO_PAD.encode(&self.user_handle),
                }
            })
        }

        fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
            json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false}).to_string().into_bytes()
        }

        fn auth_data(&self, flags: u8) -> Vec<u8> {
            let mut data = digest(&SHA256, RP_ID.as_bytes()).as_ref().to_vec();
            data.push(flags);
            data.extend_from_slice(&self.counter.to_be_bytes());
            data
        }
    }

    fn cbor_text(out: &mut Vec<u8>, text: &str) {
        assert!(text.len() < 24);
        out.push(0x60 | text.len() as u8);
        out.extend_from_slice(text.as_bytes());
    }

    fn cbor_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
        match bytes.len() {
            n if n < 24 => out.push(0x40 | n as u8),
            n if n < 256 => out.extend_from_slice(&[0x58, n as u8]),
            n => {
                out.push(0x59);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        out.extend_from_slice(bytes);
    }
}
