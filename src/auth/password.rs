use std::sync::Arc;

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};

/// argon2id with OWASP's parameters (m = 19456 KiB, t = 2, p = 1). Hashing runs on a blocking
/// thread so it never stalls the async workers.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    argon: Argon2<'static>,
    /// One hash at a time per core: more would only queue on the CPU while each holds its
    /// 19 MiB, and a burst of logins would swell memory for nothing.
    permits: tokio::sync::Semaphore,
    /// A real hash of a random password, verified against when the account does not exist so
    /// the response takes as long as for a real account.
    dummy_hash: String,
}

impl PasswordHasher {
    pub fn new() -> Self {
        let params = Params::new(19_456, 2, 1, None).expect("static argon2 parameters are valid");
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::generate(&mut OsRng);
        let dummy_hash = argon
            .hash_password(super::random_token().as_bytes(), &salt)
            .expect("hashing a random password cannot fail")
            .to_string();
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
        Self { inner: Arc::new(Inner { argon, dummy_hash, permits: tokio::sync::Semaphore::new(cores) }) }
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let _permit = self.inner.permits.acquire().await?;
        let inner = self.inner.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            inner
                .argon
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
        })
        .await?
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is no stored
    /// hash (unknown account), in which case the answer is always `false`.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        let Ok(_permit) = self.inner.permits.acquire().await else { return false };
        let inner = self.inner.clone();
        let password = password.to_owned();
        let real = stored.map(str::to_owned);
        tokio::task::spawn_blocking(move || {
            let hash_text = real.as_deref().unwrap_or(&inner.dummy_hash);
            let matches = PasswordHash::new(hash_text)
                .map(|hash| inner.argon.verify_password(password.as_bytes(), &hash).is_ok())
                .unwrap_or(false);
            matches && real.is_some()
        })
        .await
        .unwrap_or(false)
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_own_password() {
        let hasher = PasswordHasher::new();
        let hash = hasher.hash("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher.verify("correct horse battery", Some(&hash)).await);
        assert!(!hasher.verify("wrong horse battery", Some(&hash)).await);
    }

    #[tokio::test]
    async fn unknown_accounts_never_verify() {
        let hasher = PasswordHasher::new();
        assert!(!hasher.verify("anything", None).await);
    }
}
