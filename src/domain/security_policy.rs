//! A tenant's security policy: its password rules, idle timeout, the networks it may be used
//! from, and whether it asks for a second factor. The defaults are exactly the behaviour from
//! before policies existed, so a tenant that never set one notices nothing.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::FieldErrors;

/// What a new password must be, on top of the global rules of [`super::NewPassword`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordRules {
    pub min_length: u32,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
    /// How many of the account's last passwords may not be used again (0: any).
    pub password_history: u32,
}

pub const MIN_PASSWORD_LENGTH: u32 = 8;
pub const MAX_PASSWORD_LENGTH: u32 = 128;
pub const MAX_PASSWORD_HISTORY: u32 = 24;
pub const SESSION_TIMEOUT_MINUTES: std::ops::RangeInclusive<u32> = 5..=43_200;
/// More ranges than anyone lists by hand; keeps the check on every request cheap.
pub const MAX_IP_RANGES: usize = 200;

impl Default for PasswordRules {
    fn default() -> Self {
        Self {
            min_length: MIN_PASSWORD_LENGTH,
            require_uppercase: false,
            require_lowercase: false,
            require_numbers: false,
            require_symbols: false,
            password_history: 0,
        }
    }
}

impl PasswordRules {
    /// The rules that satisfy every one of `all`: the longest minimum, every class any of
    /// them asks for, the longest history. No rules at all: the defaults.
    pub fn strictest<'a>(all: impl IntoIterator<Item = &'a PasswordRules>) -> Self {
        all.into_iter().fold(Self::default(), |acc, r| Self {
            min_length: acc.min_length.max(r.min_length),
            require_uppercase: acc.require_uppercase || r.require_uppercase,
            require_lowercase: acc.require_lowercase || r.require_lowercase,
            require_numbers: acc.require_numbers || r.require_numbers,
            require_symbols: acc.require_symbols || r.require_symbols,
            password_history: acc.password_history.max(r.password_history),
        })
    }

    /// A message for each character class `raw` lacks (length is checked with the global rules).
    pub fn missing_classes(&self, raw: &str) -> Vec<String> {
        let classes: [(bool, fn(char) -> bool, &str); 4] = [
            (self.require_uppercase, char::is_uppercase, "an uppercase letter"),
            (self.require_lowercase, char::is_lowercase, "a lowercase letter"),
            (self.require_numbers, |c| c.is_numeric(), "a number"),
            (self.require_symbols, |c| !c.is_alphanumeric() && !c.is_whitespace(), "a symbol (a character that is neither a letter nor a digit)"),
        ];
        classes
            .iter()
            .filter(|(required, present, _)| *required && !raw.chars().any(present))
            .map(|(_, _, what)| format!("This password must contain at least {what}."))
            .collect()
    }
}

/// A tenant's whole policy, as stored and as the API shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityPolicy {
    pub password_policy: PasswordRules,
    /// Idle minutes after which a session or refresh token of the tenant ends; `None`: the
    /// global token lifetimes.
    pub session_timeout_minutes: Option<u32>,
    #[serde(with = "networks")]
    pub allowed_ip_ranges: Vec<IpNet>,
    pub require_2fa: bool,
}

mod networks {
    use ipnet::IpNet;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(list: &[IpNet], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(list.iter().map(ToString::to_string))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
        let raw = Vec::<String>::deserialize(d)?;
        raw.iter().map(|r| super::parse_network(r).map_err(serde::de::Error::custom)).collect()
    }
}

/// One CIDR range, IPv4 or IPv6; a bare address is a range of one. Host bits are cleared
/// (`10.1.2.3/8` is `10.0.0.0/8`), which is what an operator means by it.
pub fn parse_network(raw: &str) -> Result<IpNet, String> {
    let text = raw.trim();
    let parsed = if text.contains('/') {
        text.parse::<IpNet>().ok()
    } else {
        text.parse::<IpAddr>().ok().map(IpNet::from)
    };
    parsed.map(|n| n.trunc()).ok_or_else(|| format!("{raw:?} is not an IPv4 or IPv6 range in CIDR notation (e.g. 10.0.0.0/8)."))
}

/// A v4 address carried in v6 (`::ffff:10.0.0.1`, as dual-stack sockets report them) is the
/// v4 address, so v4 ranges match it.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl SecurityPolicy {
    /// Whether a request from `ip` may act in the tenant. No list: everyone. An unknown
    /// address (the CLI, a test) is not a network request and is not limited.
    pub fn allows(&self, ip: Option<IpAddr>) -> bool {
        match ip {
            None => true,
            Some(ip) => self.allowed_ip_ranges.is_empty() || {
                let ip = canonical(ip);
                self.allowed_ip_ranges.iter().any(|net| net.contains(&ip))
            },
        }
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| json!({}))
    }

    /// A `PUT` body over the current policy: fields left out keep their value (so a partial
    /// body never silently resets the rest), and every bad field is reported at once.
    pub fn parse_update(current: &SecurityPolicy, body: &Value) -> Result<SecurityPolicy, FieldErrors> {
        let mut errors = FieldErrors::new();
        let Some(body) = body.as_object() else {
            errors.add("non_field_errors", "Expected an object.");
            return Err(errors);
        };
        let mut next = current.clone();
        match body.get("password_policy") {
            None | Some(Value::Null) => {}
            Some(Value::Object(rules)) => parse_rules(rules, &mut next.password_policy, &mut errors),
            Some(_) => errors.add("password_policy", "Expected an object."),
        }
        match body.get("session_timeout_minutes") {
            None => {}
            Some(Value::Null) => next.session_timeout_minutes = None,
            Some(value) => match whole_in(value, *SESSION_TIMEOUT_MINUTES.start(), *SESSION_TIMEOUT_MINUTES.end()) {
                Ok(n) => next.session_timeout_minutes = Some(n),
                Err(m) => errors.add("session_timeout_minutes", format!("{m} (or null for the global token lifetimes)")),
            },
        }
        match body.get("allowed_ip_ranges") {
            None => {}
            Some(Value::Null) => next.allowed_ip_ranges.clear(),
            Some(Value::Array(list)) => {
                let before = errors.iter().count();
                let mut ranges = Vec::new();
                if list.len() > MAX_IP_RANGES {
                    errors.add("allowed_ip_ranges", format!("List at most {MAX_IP_RANGES} ranges."));
                }
                for item in list {
                    match item.as_str().map(parse_network) {
                        Some(Ok(net)) if !ranges.contains(&net) => ranges.push(net),
                        Some(Ok(_)) => {}
                        Some(Err(m)) => errors.add("allowed_ip_ranges", m),
                        None => errors.add("allowed_ip_ranges", format!("{item} is not a string.")),
                    }
                }
                if errors.iter().count() == before {
                    next.allowed_ip_ranges = ranges;
                }
            }
            Some(_) => errors.add("allowed_ip_ranges", "Expected a list of CIDR ranges."),
        }
        match body.get("require_2fa") {
            None => {}
            Some(Value::Bool(on)) => next.require_2fa = *on,
            Some(_) => errors.add("require_2fa", "Must be a valid boolean."),
        }
        if errors.is_empty() { Ok(next) } else { Err(errors) }
    }
}

fn whole_in(value: &Value, min: u32, max: u32) -> Result<u32, String> {
    match value.as_u64() {
        Some(n) if (u64::from(min)..=u64::from(max)).contains(&n) => Ok(n as u32),
        _ => Err(format!("A whole number from {min} to {max}.")),
    }
}

fn parse_rules(body: &Map<String, Value>, rules: &mut PasswordRules, errors: &mut FieldErrors) {
    let mut number = |key: &str, min: u32, max: u32, slot: &mut u32| {
        if let Some(value) = body.get(key) {
            match whole_in(value, min, max) {
                Ok(n) => *slot = n,
                Err(m) => errors.add(&format!("password_policy.{key}"), m),
            }
        }
    };
    number("min_length", MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH, &mut rules.min_length);
    number("password_history", 0, MAX_PASSWORD_HISTORY, &mut rules.password_history);
    for (key, slot) in [
        ("require_uppercase", &mut rules.require_uppercase),
        ("require_lowercase", &mut rules.require_lowercase),
        ("require_numbers", &mut rules.require_numbers),
        ("require_symbols", &mut rules.require_symbols),
    ] {
        match body.get(key) {
            None => {}
            Some(Value::Bool(on)) => *slot = *on,
            Some(_) => errors.add(&format!("password_policy.{key}"), "Must be a valid boolean."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(body: Value) -> Result<SecurityPolicy, FieldErrors> {
        SecurityPolicy::parse_update(&SecurityPolicy::default(), &body)
    }

    #[test]
    fn the_defaults_are_the_old_behaviour_and_round_trip() {
        let default = SecurityPolicy::default();
        assert_eq!(default.password_policy.min_length, 8);
        assert_eq!(default.session_timeout_minutes, None);
        assert!(default.allowed_ip_ranges.is_empty() && !default.require_2fa);
        assert_eq!(policy(default.to_json()).unwrap(), default);
        let stored: SecurityPolicy = serde_json::from_value(default.to_json()).unwrap();
        assert_eq!(stored, default);
    }

    #[test]
    fn a_full_policy_parses_and_shows_as_it_was_given() {
        let body = json!({"password_policy": {"min_length": 12, "require_uppercase": true, "require_lowercase": true,
            "require_numbers": true, "require_symbols": true, "password_history": 5},
            "session_timeout_minutes": 240, "allowed_ip_ranges": ["192.168.1.0/24", "10.0.0.0/8", "2001:db8::/32"], "require_2fa": false});
        let parsed = policy(body.clone()).unwrap();
        assert_eq!(parsed.to_json(), body);
        assert_eq!(parsed.password_policy.password_history, 5);
        assert_eq!(parsed.session_timeout_minutes, Some(240));
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let errors = policy(json!({"password_policy": {"min_length": 7, "password_history": 25, "require_symbols": "yes"},
            "session_timeout_minutes": 4, "allowed_ip_ranges": ["10.0.0.0/33", "nonsense", 5], "require_2fa": 1}))
        .unwrap_err();
        for field in ["password_policy.min_length", "password_policy.password_history", "password_policy.require_symbols", "session_timeout_minutes", "require_2fa"] {
            assert!(errors.get(field).is_some(), "{field}: {errors:?}");
        }
        assert_eq!(errors.get("allowed_ip_ranges").unwrap().len(), 3, "{errors:?}");
        assert!(policy(json!({"password_policy": {"min_length": 129}})).is_err());
        assert!(policy(json!({"session_timeout_minutes": 43_201})).is_err());
        assert_eq!(policy(json!({"session_timeout_minutes": 43_200})).unwrap().session_timeout_minutes, Some(43_200));
        assert_eq!(policy(json!({"session_timeout_minutes": 5})).unwrap().session_timeout_minutes, Some(5));
        assert_eq!(policy(json!({"password_policy": {"min_length": 128, "password_history": 24}})).unwrap().password_policy.min_length, 128);
        assert!(policy(json!([1])).is_err());
    }

    #[test]
    fn fields_left_out_keep_their_value() {
        let current = policy(json!({"password_policy": {"min_length": 14}, "allowed_ip_ranges": ["10.0.0.0/8"]})).unwrap();
        let next = SecurityPolicy::parse_update(&current, &json!({"session_timeout_minutes": 60})).unwrap();
        assert_eq!(next.password_policy.min_length, 14);
        assert_eq!(next.allowed_ip_ranges, current.allowed_ip_ranges);
        assert_eq!(next.session_timeout_minutes, Some(60));
        let cleared = SecurityPolicy::parse_update(&next, &json!({"allowed_ip_ranges": [], "session_timeout_minutes": null})).unwrap();
        assert!(cleared.allowed_ip_ranges.is_empty());
        assert_eq!(cleared.session_timeout_minutes, None);
    }

    #[test]
    fn ranges_match_v4_v6_and_mapped_addresses() {
        let p = policy(json!({"allowed_ip_ranges": ["192.168.1.7/24", "2001:db8::/32", "203.0.113.9"]})).unwrap();
        assert_eq!(p.allowed_ip_ranges[0].to_string(), "192.168.1.0/24");
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert!(p.allows(ip("192.168.1.200")));
        assert!(!p.allows(ip("192.168.2.1")));
        assert!(p.allows(ip("2001:db8:1::5")));
        assert!(!p.allows(ip("2001:db9::1")));
        assert!(p.allows(ip("::ffff:192.168.1.9")));
        assert!(p.allows(ip("203.0.113.9")));
        assert!(!p.allows(ip("203.0.113.10")));
        assert!(p.allows(None));
        assert!(SecurityPolicy::default().allows(ip("8.8.8.8")));
    }

    #[test]
    fn the_strictest_rules_take_the_most_of_each() {
        let a = PasswordRules { min_length: 12, require_uppercase: true, password_history: 2, ..Default::default() };
        let b = PasswordRules { min_length: 10, require_symbols: true, password_history: 5, ..Default::default() };
        let s = PasswordRules::strictest([&a, &b]);
        assert_eq!((s.min_length, s.password_history), (12, 5));
        assert!(s.require_uppercase && s.require_symbols && !s.require_lowercase && !s.require_numbers);
        assert_eq!(PasswordRules::strictest([]), PasswordRules::default());
    }

    #[test]
    fn each_missing_class_is_named() {
        let all = PasswordRules { require_uppercase: true, require_lowercase: true, require_numbers: true, require_symbols: true, ..Default::default() };
        assert_eq!(all.missing_classes("abc def ghij").len(), 3);
        assert!(all.missing_classes("Abc-def-9hij").is_empty());
        let messages = all.missing_classes("ABCDEFGH");
        assert!(messages.iter().any(|m| m.contains("lowercase")) && messages.iter().any(|m| m.contains("number")) && messages.iter().any(|m| m.contains("symbol")));
        assert!(!messages.iter().any(|m| m.contains("uppercase")));
        assert!(PasswordRules::default().missing_classes("abcdefgh").is_empty());
    }
}
