//! Plans, limits, features and usage resources: names that parse, and the rule that turns a
//! plan and a tenant's overrides into what the tenant may use. No I/O here.

use std::collections::{BTreeMap, BTreeSet};

fn word(raw: &str, what: &str, max: usize) -> Result<String, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(super::BLANK.into());
    }
    if text.len() > max || !text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') || !text.as_bytes()[0].is_ascii_lowercase() {
        return Err(format!("\"{text}\" is not a valid {what}: use up to {max} lower-case letters, digits and _, starting with a letter."));
    }
    Ok(text.to_owned())
}

/// A plan's name (`basic`, `professional` …).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PlanName(String);

impl PlanName {
    /// 1–50 lower-case letters, digits, `_` and `-`, starting with a letter.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.trim().to_ascii_lowercase();
        let ok = (1..=50).contains(&text.len())
            && text.as_bytes()[0].is_ascii_lowercase()
            && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok { Ok(Self(text)) } else { Err(format!("\"{}\" is not a valid plan name: use up to 50 lower-case letters, digits, _ and -, starting with a letter.", raw.trim())) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A feature flag's name (`custom_branding` …).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FeatureName(String);

impl FeatureName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        word(raw, "feature name", 64).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Something the host application counts (`assets`, `devices`, `storage_gb` …), or `users`,
/// which Tenantry counts itself.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Resource(String);

impl Resource {
    pub const USERS: &'static str = "users";

    pub fn parse(raw: &str) -> Result<Self, String> {
        word(raw, "resource name", 60).map(Self)
    }

    pub fn users() -> Self {
        Self(Self::USERS.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The limit on this resource: `max_X`, except storage (`storage_quota_gb`).
    pub fn limit(&self) -> LimitName {
        match self.0.as_str() {
            "storage_gb" => LimitName("storage_quota_gb".into()),
            other => LimitName(format!("max_{other}")),
        }
    }
}

/// A named limit: `max_<resource>` (any an operator defines), or `storage_quota_gb`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LimitName(String);

impl LimitName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = word(raw, "limit name", 64)?;
        if name == "storage_quota_gb" || name.strip_prefix("max_").is_some_and(|rest| !rest.is_empty()) {
            Ok(Self(name))
        } else {
            Err(format!("\"{name}\" is not a limit: limits are named max_<resource> (max_users, max_tasks …) or storage_quota_gb."))
        }
    }

    /// `max_api_calls_per_day`: calls made with the tenant's API keys per UTC day.
    pub fn api_calls_per_day() -> Self {
        Self("max_api_calls_per_day".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the limit limits (`max_assets` → `assets`).
    pub fn resource(&self) -> Resource {
        match self.0.as_str() {
            "storage_quota_gb" => Resource("storage_gb".into()),
            other => Resource(other.trim_start_matches("max_").to_owned()),
        }
    }
}

/// The limits every plan page shows, in this order, even when unlimited.
pub const STANDARD_LIMITS: [&str; 4] = ["max_users", "max_assets", "max_devices", "storage_quota_gb"];

/// A limit's value: a whole number, at least 0.
pub fn parse_limit_value(value: &serde_json::Value) -> Result<i64, String> {
    match value.as_i64() {
        Some(n) if n >= 0 => Ok(n),
        _ => Err("A limit is a whole number of 0 or more (null: unlimited).".into()),
    }
}

/// Where a tenant's feature flag comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagSource {
    Plan,
    Override,
}

impl FlagSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plan => "plan",
            Self::Override => "override",
        }
    }
}

/// What a tenant may use: its plan's limits and features with its overrides on top.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entitlements {
    /// Every limit the plan or the overrides name, and the standard ones: `None` is unlimited.
    pub limits: BTreeMap<String, Option<i64>>,
    /// Every feature the plan or the overrides name (and any `known` one), on or off, and why.
    pub features: BTreeMap<String, (bool, FlagSource)>,
}

impl Entitlements {
    /// Override, else plan, else unlimited / off. `known` lists features that exist (in any
    /// plan) so that the ones this tenant lacks are shown as off.
    pub fn resolve(
        plan_limits: Option<&BTreeMap<String, i64>>,
        plan_features: Option<&[String]>,
        limit_overrides: &BTreeMap<String, Option<i64>>,
        feature_overrides: &BTreeMap<String, bool>,
        known: &BTreeSet<String>,
    ) -> Self {
        let mut limits: BTreeMap<String, Option<i64>> = STANDARD_LIMITS.iter().map(|l| (l.to_string(), None)).collect();
        for (name, value) in plan_limits.into_iter().flatten() {
            limits.insert(name.clone(), Some(*value));
        }
        for (name, value) in limit_overrides {
            limits.insert(name.clone(), *value);
        }
        let mut features: BTreeMap<String, (bool, FlagSource)> = known.iter().map(|f| (f.clone(), (false, FlagSource::Plan))).collect();
        for name in plan_features.into_iter().flatten() {
            features.insert(name.clone(), (true, FlagSource::Plan));
        }
        for (name, on) in feature_overrides {
            features.insert(name.clone(), (*on, FlagSource::Override));
        }
        Self { limits, features }
    }

    pub fn limit(&self, name: &LimitName) -> Option<i64> {
        self.limits.get(name.as_str()).copied().flatten()
    }

    /// One limit settled as [`Entitlements::resolve`] settles them all, for a caller on a hot
    /// path that has the plan's limits and the overrides but no use for the rest (an API key's
    /// daily call quota, looked up with the key).
    pub fn one_limit(plan_limits: Option<&BTreeMap<String, i64>>, limit_overrides: &BTreeMap<String, Option<i64>>, name: &LimitName) -> Option<i64> {
        match limit_overrides.get(name.as_str()) {
            Some(value) => *value,
            None => plan_limits.and_then(|limits| limits.get(name.as_str()).copied()),
        }
    }

    pub fn has(&self, feature: &str) -> bool {
        self.features.get(feature).is_some_and(|(on, _)| *on)
    }
}

/// `usage / limit` in percent, one decimal; `None` when unlimited. A limit of 0 is full.
pub fn percent(usage: i64, limit: Option<i64>) -> Option<f64> {
    let limit = limit?;
    if limit <= 0 {
        return Some(100.0);
    }
    Some((usage as f64 * 1000.0 / limit as f64).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_limits_map_to_resources() {
        assert_eq!(PlanName::parse(" Enterprise ").unwrap().as_str(), "enterprise");
        assert!(PlanName::parse("gold plan").is_err() && PlanName::parse("").is_err() && PlanName::parse("9lives").is_err());
        assert_eq!(PlanName::parse("team-2").unwrap().as_str(), "team-2");
        assert_eq!(LimitName::parse("max_tasks").unwrap().resource().as_str(), "tasks");
        assert_eq!(LimitName::parse("storage_quota_gb").unwrap().resource().as_str(), "storage_gb");
        assert!(LimitName::parse("max_").is_err() && LimitName::parse("tasks").unwrap_err().contains("max_"));
        assert_eq!(Resource::parse("storage_gb").unwrap().limit().as_str(), "storage_quota_gb");
        assert_eq!(Resource::parse("assets").unwrap().limit().as_str(), "max_assets");
        assert!(Resource::parse("Assets").is_err() && Resource::parse("a-b").is_err());
        assert!(FeatureName::parse("custom_branding").is_ok() && FeatureName::parse("custom branding").is_err());
        assert_eq!(parse_limit_value(&serde_json::json!(5)), Ok(5));
        assert!(parse_limit_value(&serde_json::json!(-1)).is_err() && parse_limit_value(&serde_json::json!("5")).is_err() && parse_limit_value(&serde_json::json!(1.5)).is_err());
    }

    #[test]
    fn an_override_beats_the_plan_which_beats_unlimited_and_off() {
        let plan: BTreeMap<String, i64> = [("max_users".to_string(), 10), ("max_tasks".to_string(), 3)].into();
        let features = vec!["analytics".to_string(), "api_access".to_string()];
        let limit_overrides: BTreeMap<String, Option<i64>> = [("max_users".to_string(), Some(40)), ("max_tasks".to_string(), None)].into();
        let feature_overrides: BTreeMap<String, bool> = [("api_access".to_string(), false), ("custom_branding".to_string(), true)].into();
        let known: BTreeSet<String> = ["sso_integration".to_string()].into();
        let e = Entitlements::resolve(Some(&plan), Some(&features), &limit_overrides, &feature_overrides, &known);
        assert_eq!(e.limit(&LimitName::parse("max_users").unwrap()), Some(40));
        assert_eq!(e.limit(&LimitName::parse("max_tasks").unwrap()), None, "null override: unlimited");
        assert_eq!(e.limits.get("max_devices"), Some(&None), "standard limits are always listed");
        assert!(e.has("analytics") && !e.has("api_access") && e.has("custom_branding") && !e.has("sso_integration"));
        assert_eq!(e.features["analytics"].1, FlagSource::Plan);
        assert_eq!(e.features["api_access"], (false, FlagSource::Override));
        assert_eq!(e.features["sso_integration"], (false, FlagSource::Plan));
        let none = Entitlements::resolve(None, None, &BTreeMap::new(), &BTreeMap::new(), &BTreeSet::new());
        assert!(none.limits.values().all(Option::is_none) && none.features.is_empty());
        // One limit on its own comes out as the whole resolution has it.
        for name in ["max_users", "max_tasks", "max_devices", "max_api_calls_per_day"] {
            let name = LimitName::parse(name).unwrap();
            assert_eq!(Entitlements::one_limit(Some(&plan), &limit_overrides, &name), e.limit(&name), "{}", name.as_str());
            assert_eq!(Entitlements::one_limit(None, &BTreeMap::new(), &name), None);
        }
        assert_eq!(Entitlements::one_limit(Some(&plan), &BTreeMap::new(), &LimitName::parse("max_tasks").unwrap()), Some(3));
    }

    #[test]
    fn percentages_have_one_decimal_and_nothing_for_unlimited() {
        assert_eq!(percent(4, Some(10)), Some(40.0));
        assert_eq!(percent(1, Some(3)), Some(33.3));
        assert_eq!(percent(12, Some(10)), Some(120.0));
        assert_eq!(percent(0, Some(0)), Some(100.0));
        assert_eq!(percent(5, None), None);
    }
}
