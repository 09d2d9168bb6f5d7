use secrecy::{ExposeSecret, SecretString};

use super::{Email, PasswordRules};

/// A password offered for a new or reset credential, checked against the policy:
/// at least 8 characters, at most 128, not entirely numeric, not a common password, and not
/// the e-mail address (or its local part). `Debug` never shows it.
#[derive(Debug)]
pub struct NewPassword(SecretString);

/// A password offered to log in or to confirm identity: only non-empty; the stored hash
/// decides whether it is right.
#[derive(Debug)]
pub struct PlainPassword(SecretString);

const MIN_LEN: usize = 8;
const MAX_LEN: usize = 128;

/// A short list of the most common passwords (lower-case). Long enough to stop the
/// passwords that credential-stuffing lists start with.
const COMMON: &str = include_str!("common_passwords.txt");

impl NewPassword {
    /// Checks every global rule and returns every message that applies.
    pub fn parse(raw: &str, email: Option<&Email>) -> Result<Self, Vec<String>> {
        Self::parse_under(raw, email, &PasswordRules::default())
    }

    /// The global rules and a tenant's on top (a longer minimum, required character classes).
    pub fn parse_under(raw: &str, email: Option<&Email>, rules: &PasswordRules) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        if raw.is_empty() {
            return Err(vec![super::BLANK.into()]);
        }
        let length = raw.chars().count();
        let min = (rules.min_length as usize).max(MIN_LEN);
        if length < min {
            problems.push(format!(
                "This password is too short. It must contain at least {min} characters."
            ));
        }
        if length > MAX_LEN {
            problems.push(format!("Ensure this field has no more than {MAX_LEN} characters."));
        }
        let lowered = raw.trim().to_lowercase();
        if COMMON.lines().any(|common| common == lowered) {
            problems.push("This password is too common.".into());
        }
        if raw.chars().all(|c| c.is_ascii_digit()) {
            problems.push("This password is entirely numeric.".into());
        }
        if let Some(email) = email {
            if lowered == email.as_str() || lowered == email.local_part() {
                problems.push("The password is too similar to the email address.".into());
            }
        }
        problems.extend(rules.missing_classes(raw));
        if problems.is_empty() {
            Ok(Self(SecretString::from(raw.to_owned())))
        } else {
            Err(problems)
        }
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl PlainPassword {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            Err(super::BLANK.into())
        } else {
            Ok(Self(SecretString::from(raw.to_owned())))
        }
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email::parse("jane.doe@example.com").unwrap()
    }

    #[test]
    fn a_long_uncommon_password_is_accepted() {
        assert!(NewPassword::parse("correct horse battery", Some(&email())).is_ok());
    }

    #[test]
    fn short_common_numeric_and_email_like_passwords_are_refused() {
        assert!(NewPassword::parse("short1", None).unwrap_err()[0].contains("too short"));
        assert!(NewPassword::parse("password123", None).unwrap_err().iter().any(|m| m.contains("too common")));
        assert!(NewPassword::parse("4815162342", None).unwrap_err().iter().any(|m| m.contains("numeric")));
        assert!(NewPassword::parse("jane.doe@example.com", Some(&email())).unwrap_err().iter().any(|m| m.contains("similar")));
    }

    #[test]
    fn a_tenant_rule_adds_length_and_classes() {
        let rules = PasswordRules { min_length: 14, require_numbers: true, require_uppercase: true, ..Default::default() };
        let problems = NewPassword::parse_under("correct horse battery", None, &rules).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        let problems = NewPassword::parse_under("Short 1 pass", None, &rules).unwrap_err();
        assert!(problems[0].contains("at least 14 characters"), "{problems:?}");
        assert!(NewPassword::parse_under("Correct horse battery 9", None, &rules).is_ok());
    }

    #[test]
    fn debug_output_hides_the_password() {
        let password = NewPassword::parse("correct horse battery", None).unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
