use std::sync::{mpsc, Arc, Mutex};

use argon2::{
    password_hash::{rand_core::OsRng, Output, PasswordHash, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};
use tokio::sync::oneshot;

/// argon2id with OWASP's parameters (m = 19456 KiB, t = 2, p = 1). Hashing runs on threads of
/// its own so it never stalls the async workers: one per core, each taking the next hash from
/// a shared queue as soon as it finishes one. (Handing each hash to tokio's blocking pool
/// behind a semaphore left a core idle between two hashes while the async side woke up to
/// pass the permit on; on two cores that idle was 2–3% of the machine under a sign-in load.)
///
/// Memory: each hash needs 19 MiB of working memory. Allocating it per hash makes glibc keep
/// a freed 19 MiB heap per thread that ever hashed (measured: ~1 GB RSS after a login burst),
/// and forcing mmap for it costs a fifth of the throughput in page faults. So each hashing
/// thread keeps one buffer ([`HashMemory`]), mapped on its first hash and reused for every one
/// after.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    /// The hashing threads' queue; they stop when the last handle drops it.
    jobs: mpsc::Sender<Job>,
    /// A real hash of a random password, verified against when the account does not exist so
    /// the response takes as long as for a real account.
    dummy_hash: String,
}

/// What the hashing threads share: the parameters new hashes are made with.
struct Core {
    argon: Argon2<'static>,
    params: Params,
}

/// One hash for a hashing thread, and where its answer goes.
enum Job {
    Hash { password: String, reply: oneshot::Sender<anyhow::Result<String>> },
    /// Verifies against `stored` (the dummy hash for an account that does not exist).
    Verify { password: String, stored: String, reply: oneshot::Sender<bool> },
}

const M_COST: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

impl PasswordHasher {
    pub fn new() -> Self {
        let params = Params::new(M_COST, T_COST, P_COST, None).expect("static argon2 parameters are valid");
        let core = Arc::new(Core { argon: Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone()), params });
        // An idle server need not hold 19 MiB: this memory goes, and each thread maps its
        // own on its first hash.
        let dummy_hash = core.hash(super::random_token().as_bytes(), &mut HashMemory::default()).expect("hashing a random password cannot fail");
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
        for n in 0..cores {
            let (core, queue) = (core.clone(), queue.clone());
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || core.serve(&queue))
                .expect("a hashing thread starts");
        }
        Self { inner: Arc::new(Inner { jobs, dummy_hash }) }
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash { password: password.to_owned(), reply })?;
        answer.await?
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is no stored
    /// hash (unknown account), in which case the answer is always `false`.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        // An unusable password costs what an unknown account does.
        let real = stored.filter(|s| !s.starts_with('!'));
        let (reply, answer) = oneshot::channel();
        let job = Job::Verify { password: password.to_owned(), stored: real.unwrap_or(&self.inner.dummy_hash).to_owned(), reply };
        if self.submit(job).is_err() {
            return false;
        }
        answer.await.unwrap_or(false) && real.is_some()
    }

    fn submit(&self, job: Job) -> anyhow::Result<()> {
        self.inner.jobs.send(job).map_err(|_| anyhow::anyhow!("the hashing threads are gone"))
    }
}

impl Core {
    /// A hashing thread: takes the next job until every handle is gone. A job whose caller
    /// went away (a client that disconnected while it queued) is skipped, not hashed.
    fn serve(&self, queue: &Mutex<mpsc::Receiver<Job>>) {
        let mut memory = HashMemory::default();
        loop {
            let next = match queue.lock() {
                Ok(queue) => queue.recv(),
                Err(_) => return,
            };
            match next {
                Ok(Job::Hash { password, reply }) if !reply.is_closed() => drop(reply.send(self.hash(password.as_bytes(), &mut memory))),
                Ok(Job::Verify { password, stored, reply }) if !reply.is_closed() => drop(reply.send(self.verify(password.as_bytes(), &stored, &mut memory))),
                Ok(_) => {}
                Err(_) => return,
            }
        }
    }

    fn hash(&self, password: &[u8], memory: &mut HashMemory) -> anyhow::Result<String> {
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0u8; 64];
        let salt_raw = salt.decode_b64(&mut salt_bytes).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        let mut out = [0u8; 32];
        self.argon
            .hash_password_into_with_memory(password, salt_raw, &mut out, memory.blocks(self.params.block_count())?)
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
    fn verify(&self, password: &[u8], stored: &str, memory: &mut HashMemory) -> bool {
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
        let Ok(memory) = memory.blocks(params.block_count()) else { return false };
        let computed = argon.hash_password_into_with_memory(password, salt_raw, &mut out, memory);
        // `Output`'s equality is constant-time.
        computed.is_ok() && Output::new(&out).is_ok_and(|actual| actual == expected)
    }
}

/// One hashing thread's working memory, mapped on its first hash and reused for every one after
/// (a hash under other parameters, such as an old stored hash's, maps it again at its size).
///
/// It asks for transparent huge pages (2 MiB) where the kernel offers them (Linux, THP
/// `madvise` or `always`). argon2 reads its 19 MiB in a data-dependent order, and with 4 KiB
/// pages nearly every block it reads is a TLB miss, more so when both cores hash and when the
/// database and the async workers run between its reads. Measured on this project's 2-core
/// machines, both cores hashing (`tenantry-server bench-argon2`, back to back): 117–128
/// hashes/s with 4 KiB pages, 132–134 with huge pages. Where the kernel refuses (THP `never`),
/// the memory is plain pages, as before.
#[derive(Default)]
struct HashMemory {
    map: Option<memmap2::MmapMut>,
}

/// A transparent huge page. They back only whole, aligned 2 MiB ranges, so a mapping is one
/// huge page longer than its blocks, which start at the first 2 MiB boundary inside it.
const HUGE_PAGE: usize = 2 << 20;

// The blocks are cast from the mapping's bytes. A `Block` is 128 u64 words: a size of exactly
// that means no padding, so any bytes are a valid block; and its alignment must divide the
// 2 MiB boundary the blocks start on.
const _: () = assert!(std::mem::size_of::<Block>() == 1024 && std::mem::align_of::<Block>() <= 4096);

impl HashMemory {
    /// `blocks` blocks, zeroed when first mapped; what an earlier hash left in them is
    /// overwritten, as argon2 fills each block before it reads it.
    fn blocks(&mut self, blocks: usize) -> std::io::Result<&mut [Block]> {
        let len = blocks * std::mem::size_of::<Block>() + HUGE_PAGE;
        if self.map.as_ref().is_none_or(|map| map.len() != len) {
            // The old mapping goes first: two would briefly hold twice the memory.
            self.map = None;
            let map = memmap2::MmapOptions::new().len(len).map_anon()?;
            // Advice only, before any page is touched: it may be refused (THP `never`).
            #[cfg(target_os = "linux")]
            let _ = map.advise(memmap2::Advice::HugePage);
            self.map = Some(map);
        }
        let map = self.map.as_mut().expect("mapped just above");
        let at = map.as_ptr() as usize;
        let start = at.next_multiple_of(HUGE_PAGE) - at;
        let bytes = &mut map[start..start + blocks * std::mem::size_of::<Block>()];
        // SAFETY: the blocks are exactly these bytes, which are this mapping's own, readable and
        // writable, and stay borrowed mutably from it (through `self`) for as long as the blocks
        // are; any bytes are a valid `Block` (plain u64 words, no padding: the assertion above);
        // they start on a 2 MiB boundary, so they are aligned for `Block`.
        Ok(unsafe { std::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast::<Block>(), bytes.len() / std::mem::size_of::<Block>()) })
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

    #[test]
    fn hash_memory_is_aligned_kept_between_hashes_and_remapped_for_another_size() {
        let mut memory = HashMemory::default();
        let blocks = memory.blocks(64).unwrap();
        assert_eq!(blocks.len(), 64);
        assert_eq!(blocks.as_ptr() as usize % HUGE_PAGE, 0, "the blocks start on a huge page boundary");
        assert!(blocks.iter().all(|block| block.as_ref().iter().all(|&word| word == 0)), "a new mapping is zeroed");
        blocks[63].as_mut()[127] = 7;
        assert_eq!(memory.blocks(64).unwrap()[63].as_ref()[127], 7, "the same size reuses the mapping");
        let other = memory.blocks(96).unwrap();
        assert_eq!((other.len(), other.as_ptr() as usize % HUGE_PAGE), (96, 0));
        assert_eq!(other[63].as_ref()[127], 0, "another size is a new, zeroed mapping");
    }
}
