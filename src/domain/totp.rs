//! Time-based one-time passwords (RFC 6238 over RFC 4226): SHA-1, 6 digits, 30-second steps,
//! one step of clock drift either way. No I/O: the caller keeps the secret and the last step
//! used (so a code works once).

use hmac::{Hmac, Mac};
use sha1::Sha1;

pub const DIGITS: u32 = 6;
pub const STEP_SECS: i64 = 30;
/// Steps accepted either side of now.
pub const DRIFT: i64 = 1;

/// A shared TOTP secret: 160 random bits (the size RFC 4226 recommends).
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

impl TotpSecret {
    pub fn generate() -> Self {
        use rand::RngCore;
        let mut bytes = vec![0u8; 20];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// RFC 4648 base32 without padding, as authenticator apps take it.
    pub fn to_base32(&self) -> String {
        let mut out = String::new();
        let (mut buffer, mut bits) = (0u32, 0u32);
        for byte in &self.0 {
            buffer = (buffer << 8) | u32::from(*byte);
            bits += 8;
            while bits >= 5 {
                out.push(BASE32[((buffer >> (bits - 5)) & 31) as usize] as char);
                bits -= 5;
            }
        }
        if bits > 0 {
            out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
        }
        out
    }

    pub fn from_base32(text: &str) -> Option<Self> {
        let mut bytes = Vec::new();
        let (mut buffer, mut bits) = (0u32, 0u32);
        for c in text.trim_end_matches('=').chars() {
            let value = BASE32.iter().position(|b| *b as char == c.to_ascii_uppercase())? as u32;
            buffer = (buffer << 5) | value;
            bits += 5;
            if bits >= 8 {
                bytes.push((buffer >> (bits - 8)) as u8);
                bits -= 8;
            }
        }
        (!bytes.is_empty()).then_some(Self(bytes))
    }

    /// The HOTP value for one counter, as a zero-padded string of [`DIGITS`] digits.
    pub fn code_at_step(&self, step: i64) -> String {
        let mut mac = Hmac::<Sha1>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(&step.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let offset = (digest[digest.len() - 1] & 0x0f) as usize;
        let value = u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
        format!("{:0width$}", value % 10u32.pow(DIGITS), width = DIGITS as usize)
    }

    /// The step a `code` typed at `unix_time` matches (within the drift), if it is later than
    /// `last_used` (a code is accepted once: its replay in the same window is refused).
    pub fn verify(&self, code: &str, unix_time: i64, last_used: Option<i64>) -> Option<i64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = unix_time.div_euclid(STEP_SECS);
        (now - DRIFT..=now + DRIFT)
            .filter(|step| last_used.is_none_or(|used| *step > used))
            .find(|step| constant_time_eq(self.code_at_step(*step).as_bytes(), code.as_bytes()))
    }

    /// The `otpauth://` URI authenticator apps scan.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
                .collect()
        };
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            enc(issuer),
            enc(account),
            self.to_base32(),
            enc(issuer)
        )
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 (the last six of its eight digits).
    #[test]
    fn the_rfc_6238_vectors() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        for (time, code) in [(59, "287082"), (1_111_111_109, "081804"), (1_111_111_111, "050471"), (1_234_567_890, "005924"),
            (2_000_000_000, "279037"), (20_000_000_000, "353130")] {
            assert_eq!(secret.code_at_step(time / STEP_SECS), code, "at {time}");
            assert_eq!(secret.verify(code, time, None), Some(time / STEP_SECS));
        }
    }

    #[test]
    fn drift_of_one_step_and_no_replay() {
        let secret = TotpSecret::generate();
        let now = 1_700_000_000;
        let step = now / STEP_SECS;
        let previous = secret.code_at_step(step - 1);
        assert_eq!(secret.verify(&previous, now, None), Some(step - 1));
        assert_eq!(secret.verify(&secret.code_at_step(step + 1), now, None), Some(step + 1));
        assert_eq!(secret.verify(&secret.code_at_step(step - 2), now, None), None, "two steps old");
        assert_eq!(secret.verify(&secret.code_at_step(step + 2), now, None), None);
        let current = secret.code_at_step(step);
        assert_eq!(secret.verify(&current, now, Some(step)), None, "the same code again");
        assert_eq!(secret.verify(&current, now, Some(step - 1)), Some(step));
        assert_eq!(secret.verify(&previous, now, Some(step)), None, "an older code after a newer one");
        assert_eq!(secret.verify("12345", now, None), None);
        assert_eq!(secret.verify("abcdef", now, None), None);
        let spaced = format!("{} {}", &current[..3], &current[3..]);
        assert_eq!(secret.verify(&spaced, now, None), Some(step));
    }

    #[test]
    fn base32_round_trips_and_the_uri_names_the_account() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        assert_eq!(secret.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(TotpSecret::from_base32("gezdgnbvgy3tqojqgezdgnbvgy3tqojq").unwrap(), secret);
        assert!(TotpSecret::from_base32("not base32!").is_none());
        let generated = TotpSecret::generate();
        assert_eq!(TotpSecret::from_base32(&generated.to_base32()).unwrap(), generated);
        let uri = secret.otpauth_uri("Tenantry", "ada@example.com");
        assert_eq!(uri, "otpauth://totp/Tenantry:ada%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Tenantry&algorithm=SHA1&digits=6&period=30");
        assert!(!format!("{secret:?}").contains("GEZ"));
    }
}
