use std::sync::{Arc, Mutex};

use argon2::{
    password_hash::{rand_core::OsRng, Output, PasswordHash, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};

/// argon2id with OWASP's parameters (m = 19456 KiB, t = 2, p = 1). Hashing runs on a blocking
/// thread so it never stalls the async workers.
///
/// Memory: each hash needs 19 MiB of working memory. Allocating it per hash makes glibc keep
/// a freed 19 MiB heap per thread that ever hashed (measured: ~1 GB RSS after a login burst),
/// and forcing mmap for it costs a fifth of the throughput in page faults. So the working
/// memory is a small pool of buffers, at most one per core, reused for every hash.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    argon: Argon2<'static>,
    params: Params,
    /// One hash at a time per core: more would only queue on the CPU while each holds its
    /// 19 MiB.
    permits: tokio::sync::Semaphore,
    buffers: Mutex<Vec<Vec<Block>>>,
    /// A real hash of a random password, verified against when the account does not exist so
    /// the response takes as long as for a real account.
    dummy_hash: String,
}

const M_COST: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

impl PasswordHasher {
    pub fn new() -> Self {
        let params = Params::new(M_COST, T_COST, P_COST, None).expect("static argon2 parameters are valid");
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
        let mut inner = Inner {
            argon,
            params,
            permits: tokio::sync::Semaphore::new(cores),
            buffers: Mutex::new(Vec::new()),
            dummy_hash: String::new(),
        };
        inner.dummy_hash = inner.hash_blocking(super::random_token().as_bytes()).expect("hashing a random password cannot fail");
        // An idle server need not hold 19 MiB: the pool refills on the first real hash.
        inner.buffers.get_mut().map(Vec::clear).ok();
        Self { inner: Arc::new(inner) }
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let _permit = self.inner.permits.acquire().await?;
        let inner = self.inner.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || inner.hash_blocking(password.as_bytes())).await?
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is no stored
    /// hash (unknown account), in which case the answer is always `false`.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        let Ok(_permit) = self.inner.permits.acquire().await else { return false };
        let inner = self.inner.clone();
        let password = password.to_owned();
        // An unusable password costs what an unknown account does.
        let real = stored.filter(|s| !s.starts_with('!')).map(str::to_owned);
        tokio::task::spawn_blocking(move || {
            let hash_text = real.as_deref().unwrap_or(&inner.dummy_hash);
            let matches = inner.verify_blocking(password.as_bytes(), hash_text);
            matches && real.is_some()
        })
        .await
        .unwrap_or(false)
    }
}

impl Inner {
    /// Runs `f` with a working-memory buffer from the pool (allocated on first use).
    fn with_memory<T>(&self, blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
        let mut buffer = self.buffers.lock().map(|mut pool| pool.pop()).ok().flatten().unwrap_or_default();
        if buffer.len() != blocks {
            buffer = vec![Block::default(); blocks];
        }
        let result = f(&mut buffer);
        if let Ok(mut pool) = self.buffers.lock() {
            pool.push(buffer);
        }
        result
    }

    fn hash_blocking(&self, password: &[u8]) -> anyhow::Result<String> {
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0u8; 64];
        let salt_raw = salt.decode_b64(&mut salt_bytes).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        let mut out = [0u8; 32];
        self.with_memory(self.params.block_count(), |memory| self.argon.hash_password_into_with_memory(password, salt_raw, &mut out, memory))
            .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))?;
        let hash = PasswordHash {
            algorithm: argon2::ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: (&self.params).try_into().map_err(|e| anyhow::anyhow!("params: {e}"))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("output: {e}"))?),
        };
        Ok(hash.to_string())
    }

    /// Checks a password against a stored PHC string (argon2id with any parameters, so hashes
    /// made under older settings still verify).
    fn verify_blocking(&self, password: &[u8], stored: &str) -> bool {
        let Ok(hash) = PasswordHash::new(stored) else { return false };
        let (Some(expected), Some(salt)) = (hash.hash, hash.salt) else { return false };
        if hash.algorithm != argon2::ARGON2ID_IDENT {
            return false;
        }
        let Ok(params) = Params::try_from(&hash) else { return false };
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let mut salt_bytes = [0u8; 64];
        let Ok(salt_raw) = salt.decode_b64(&mut salt_bytes) else { return false };
        let mut out = vec![0u8; expected.len()];
        let computed = self.with_memory(params.block_count(), |memory| argon.hash_password_into_with_memory(password, salt_raw, &mut out, memory));
        // `Output`'s equality is constant-time.
        computed.is_ok() && Output::new(&out).is_ok_and(|actual| actual == expected)
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

/// What is stored for an account that has no password anyone knows (made by an import with
/// generated passwords): not a PHC string, so nothing ever verifies against it. The owner sets
/// a password through the e-mailed link.
pub fn unusable_password() -> String {
    format!("!{}", super::random_token())
}

#[cfg(test)]
mod tests {
    use argon2::{PasswordHasher as _, PasswordVerifier};

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
        assert!(!hasher.verify("anything", Some("not a phc string")).await);
        let unusable = unusable_password();
        assert!(unusable.starts_with('!') && unusable.len() > 40);
        assert!(!hasher.verify(&unusable, Some(&unusable)).await, "an unusable password verifies against nothing, itself included");
    }

    #[tokio::test]
    async fn hashes_interoperate_with_the_reference_implementation() {
        let hasher = PasswordHasher::new();
        // Ours verifies with the crate's own verifier …
        let ours = hasher.hash("correct horse battery").await.unwrap();
        assert!(Argon2::default().verify_password(b"correct horse battery", &PasswordHash::new(&ours).unwrap()).is_ok());
        // … and a hash the crate made (other parameters) verifies with ours.
        let salt = SaltString::generate(&mut OsRng);
        let params = Params::new(8192, 1, 1, None).unwrap();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params).hash_password(b"other secret", &salt).unwrap().to_string();
        assert!(hasher.verify("other secret", Some(&theirs)).await);
        assert!(!hasher.verify("not it", Some(&theirs)).await);
    }
}
