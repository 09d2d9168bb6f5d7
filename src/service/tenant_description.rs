//! "This tenant, described": the one input every way of provisioning shares (the partner API,
//! `create-tenant`, a row of `bulk-create-tenants`, an entry of `provision-from-config`). Parsed
//! here into checked values, every problem reported at once under the field's path
//! (`tenant.subdomain`, `users[1].email`, `settings.timezone` …). No I/O: whether a name is
//! free or a plan exists is for [`Services::provision`](super::Services::provision).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::Raw;
use crate::{
    domain::{parse_limit_value, CustomDomain, Email, FeatureName, LimitName, NewPassword, PlanName, Role, RoleName, TenantName, TenantSlug},
    FieldErrors,
};

/// A tenant to make, as checked as it can be without the database.
#[derive(Debug)]
pub struct TenantDescription {
    pub name: TenantName,
    /// The subdomain (the tenant's slug): as given, else made from the name.
    pub subdomain: TenantSlug,
    pub plan: Option<PlanName>,
    /// Where the plan was named (`tenant.plan_type`, or `tenant.plan` as a CSV row says it).
    pub plan_field: &'static str,
    pub contact_email: Option<Email>,
    pub phone_number: Option<String>,
    pub industry: Option<String>,
    pub custom_domain: Option<CustomDomain>,
    /// Limits over the plan's: `max_users`, `storage_quota_gb`, any `max_<resource>`; `None`
    /// is unlimited.
    pub limits: BTreeMap<String, Option<i64>>,
    pub features: BTreeMap<String, bool>,
    /// Free-form settings; the keys Tenantry knows are checked when applied.
    pub settings: Map<String, Value>,
    pub users: Vec<DescribedUser>,
    /// Custom roles to create in the new tenant (from `roles`, or a template's
    /// `default_roles`); its people may hold them.
    pub roles: Vec<DescribedRole>,
    pub template: Option<String>,
    /// Values for a template's `${VAR}`s.
    pub vars: BTreeMap<String, String>,
}

/// A custom role the new tenant starts with.
#[derive(Debug, Clone)]
pub struct DescribedRole {
    pub name: crate::domain::CustomRoleName,
    pub description: String,
    pub grants: Vec<crate::domain::Grant>,
}

/// A person to add to the new tenant.
#[derive(Debug)]
pub struct DescribedUser {
    pub email: Email,
    pub role: RoleName,
    /// Given only for an owner who gets an account at once instead of an invitation.
    pub password: Option<NewPassword>,
    /// Where this person sits in the description, for error paths (`users[2]`).
    pub index: usize,
}

const TOP_LEVEL: [&str; 7] = ["tenant", "users", "features", "settings", "template", "roles", "vars"];
const TENANT_FIELDS: [&str; 9] = ["name", "subdomain", "plan_type", "plan", "contact_email", "phone_number", "industry", "custom_domain", "limits"];
const UNKNOWN: &str = "Unknown field.";

/// `owner` and `admin` are the guides' words for ADMIN; anything else is a role name.
pub fn parse_described_role(raw: &str) -> Result<RoleName, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "owner" | "admin" => Ok(RoleName::BuiltIn(Role::Admin)),
        _ => RoleName::parse(raw),
    }
}

impl TenantDescription {
    /// Whether a JSON body is a description (it has a `tenant` object) rather than the
    /// partner API's flat `{company_name, email}`.
    pub fn is_description(body: &Map<String, Value>) -> bool {
        body.get("tenant").is_some_and(Value::is_object)
    }

    /// Parses a description; every bad field is reported, keyed by its path.
    pub fn parse(value: &Value) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let Some(top) = value.as_object() else {
            errors.add("non_field_errors", "A tenant description is an object: {\"tenant\": {…}, \"users\": […], …}.");
            return Err(errors);
        };
        for key in top.keys().filter(|k| !TOP_LEVEL.contains(&k.as_str())) {
            errors.add(key, UNKNOWN);
        }
        let empty = Map::new();
        let tenant = match top.get("tenant") {
            Some(Value::Object(t)) => t,
            None | Some(Value::Null) => {
                errors.add("tenant", crate::domain::REQUIRED);
                &empty
            }
            Some(_) => {
                errors.add("tenant", "Expected an object: {\"name\": …, \"subdomain\": …}.");
                &empty
            }
        };
        let text = |key: &str| Raw::from_json(tenant.get(key));
        for key in tenant.keys() {
            let known = TENANT_FIELDS.contains(&key.as_str()) || LimitName::parse(key).is_ok();
            if !known {
                errors.add(&format!("tenant.{key}"), UNKNOWN);
            }
        }
        // Without a tenant object, its fields are not reported one by one as well.
        let name = if top.get("tenant").is_some_and(Value::is_object) { text("name").required(&mut errors, "tenant.name", TenantName::parse) } else { None };
        let subdomain = match text("subdomain") {
            Raw::Text(raw) if !raw.trim().is_empty() => errors.check("tenant.subdomain", TenantSlug::parse_subdomain(&raw)),
            Raw::WrongType(message) => {
                errors.add("tenant.subdomain", message);
                None
            }
            _ => name.as_ref().and_then(|n| errors.check("tenant.name", TenantSlug::from_name(n))),
        };
        if subdomain.as_ref().is_some_and(TenantSlug::is_reserved) {
            errors.add("tenant.subdomain", "This subdomain is reserved for the service; choose another.");
        }
        let (plan_field, plan_raw) = if tenant.contains_key("plan_type") { ("tenant.plan_type", text("plan_type")) } else { ("tenant.plan", text("plan")) };
        let plan = plan_raw.optional(&mut errors, plan_field, |raw| if raw.trim().is_empty() { Ok(None) } else { PlanName::parse(raw).map(Some) }).flatten().flatten();
        let blank_is_none = |parse: fn(&str) -> Result<Email, String>| move |raw: &str| if raw.trim().is_empty() { Ok(None) } else { parse(raw).map(Some) };
        let contact_email = text("contact_email").optional(&mut errors, "tenant.contact_email", blank_is_none(Email::parse)).flatten().flatten();
        let phone_number = text("phone_number")
            .optional(&mut errors, "tenant.phone_number", |raw| {
                if raw.trim().is_empty() { Ok(None) } else { crate::domain::PhoneNumber::parse(raw).map(|p| Some(p.as_str().to_owned())) }
            })
            .flatten()
            .flatten();
        let industry = text("industry")
            .optional(&mut errors, "tenant.industry", |raw| crate::domain::Industry::parse(raw).map(|i| Some(i.as_str().to_owned()).filter(|i| !i.is_empty())))
            .flatten()
            .flatten();
        let custom_domain = text("custom_domain")
            .optional(&mut errors, "tenant.custom_domain", |raw| if raw.trim().is_empty() { Ok(None) } else { CustomDomain::parse(raw).map(Some) })
            .flatten()
            .flatten();

        let mut limits = BTreeMap::new();
        let mut limit = |errors: &mut FieldErrors, key: &str, value: &Value, field: String| match LimitName::parse(key) {
            Err(message) => errors.add(&field, message),
            Ok(name) if value.is_null() => {
                limits.insert(name.as_str().to_owned(), None);
            }
            Ok(name) => match parse_limit_value(value) {
                Ok(n) => {
                    limits.insert(name.as_str().to_owned(), Some(n));
                }
                Err(message) => errors.add(&field, message),
            },
        };
        match tenant.get("limits") {
            None | Some(Value::Null) => {}
            Some(Value::Object(given)) => {
                for (key, value) in given {
                    limit(&mut errors, key, value, format!("tenant.limits.{key}"));
                }
            }
            Some(_) => errors.add("tenant.limits", "Expected an object of limits, e.g. {\"max_tasks\": 100}."),
        }
        for (key, value) in tenant.iter().filter(|(k, _)| LimitName::parse(k).is_ok()) {
            limit(&mut errors, key, value, format!("tenant.{key}"));
        }

        let mut features = BTreeMap::new();
        match top.get("features") {
            None | Some(Value::Null) => {}
            Some(Value::Object(given)) => {
                for (key, value) in given {
                    let field = format!("features.{key}");
                    match (FeatureName::parse(key), value) {
                        (Err(message), _) => errors.add(&field, message),
                        (Ok(feature), Value::Bool(on)) => {
                            features.insert(feature.as_str().to_owned(), *on);
                        }
                        (Ok(_), _) => errors.add(&field, "Must be true or false."),
                    }
                }
            }
            Some(_) => errors.add("features", "Expected an object: {\"feature_name\": true|false}."),
        }
        let settings = match top.get("settings") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(given)) => {
                super::settings::check_settings(given, &mut errors);
                given.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect()
            }
            Some(_) => {
                errors.add("settings", "Expected an object of settings.");
                Map::new()
            }
        };
        let template = Raw::from_json(top.get("template"))
            .optional(&mut errors, "template", |raw| Ok(Some(raw.trim().to_owned()).filter(|t| !t.is_empty())))
            .flatten()
            .flatten();
        let users = parse_users(top.get("users"), &mut errors);
        let roles = parse_roles(top.get("roles"), &mut errors);
        let mut vars = BTreeMap::new();
        match top.get("vars") {
            None | Some(Value::Null) => {}
            Some(Value::Object(given)) => {
                for (key, value) in given {
                    match value {
                        Value::String(text) => {
                            vars.insert(key.clone(), text.clone());
                        }
                        Value::Number(n) => {
                            vars.insert(key.clone(), n.to_string());
                        }
                        _ => errors.add(&format!("vars.{key}"), "Not a valid string."),
                    }
                }
            }
            Some(_) => errors.add("vars", "Expected an object: {\"NAME\": \"value\"}."),
        }
        errors.into_result().map_err(|e| match e {
            crate::ServiceError::Validation(fields) => fields,
            _ => FieldErrors::new(),
        })?;
        Ok(Self {
            name: name.expect("checked above"),
            subdomain: subdomain.expect("checked above"),
            plan,
            plan_field,
            contact_email,
            phone_number,
            industry,
            custom_domain,
            limits,
            features,
            settings,
            users,
            roles,
            template,
            vars,
        })
    }
}

fn parse_roles(value: Option<&Value>, errors: &mut FieldErrors) -> Vec<DescribedRole> {
    let list = match value {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(list)) => list,
        Some(_) => {
            errors.add("roles", "Expected a list: [{\"name\": …, \"permissions\": […]}, …].");
            return Vec::new();
        }
    };
    let mut roles: Vec<DescribedRole> = Vec::new();
    for (index, entry) in list.iter().enumerate() {
        let path = format!("roles[{index}]");
        let Some(entry) = entry.as_object() else {
            errors.add(&path, "Expected an object: {\"name\": …, \"permissions\": […]}.");
            continue;
        };
        let name = Raw::from_json(entry.get("name")).required(errors, &format!("{path}.name"), crate::domain::CustomRoleName::parse);
        let description = Raw::from_json(entry.get("description")).optional(errors, &format!("{path}.description"), |t| Ok(t.trim().to_owned())).flatten().unwrap_or_default();
        let grants = super::RawList::from_json(entry.get("permissions"))
            .optional(errors, &format!("{path}.permissions"), |items| crate::domain::parse_grants(items.iter().map(String::as_str)))
            .flatten()
            .unwrap_or_default();
        if let Some(name) = name {
            if roles.iter().any(|r| r.name == name) {
                errors.add(&format!("{path}.name"), "This role is listed twice.");
                continue;
            }
            roles.push(DescribedRole { name, description, grants });
        }
    }
    roles
}

fn parse_users(value: Option<&Value>, errors: &mut FieldErrors) -> Vec<DescribedUser> {
    let list = match value {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(list)) => list,
        Some(_) => {
            errors.add("users", "Expected a list: [{\"email\": …, \"role\": \"owner\"}, …].");
            return Vec::new();
        }
    };
    let mut users: Vec<DescribedUser> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (index, entry) in list.iter().enumerate() {
        let path = format!("users[{index}]");
        let Some(entry) = entry.as_object() else {
            errors.add(&path, "Expected an object: {\"email\": …, \"role\": …}.");
            continue;
        };
        for key in entry.keys().filter(|k| !["email", "role", "password"].contains(&k.as_str())) {
            errors.add(&format!("{path}.{key}"), UNKNOWN);
        }
        let email = Raw::from_json(entry.get("email")).required(errors, &format!("{path}.email"), Email::parse);
        let role = Raw::from_json(entry.get("role")).required(errors, &format!("{path}.role"), parse_described_role);
        let password = match (Raw::from_json(entry.get("password")), &email) {
            (Raw::Missing, _) => None,
            (raw, Some(email)) => raw.optional(errors, &format!("{path}.password"), |raw| NewPassword::parse(raw, Some(email)).map_err(|m| m.join(" "))).flatten(),
            (_, None) => None,
        };
        if password.is_some() && !matches!(role, Some(RoleName::BuiltIn(Role::Admin))) {
            errors.add(&format!("{path}.password"), "Only an owner or admin may be given a password; everyone else is invited.");
        }
        if let Some(email) = &email {
            if !seen.insert(email.clone()) {
                errors.add(&format!("{path}.email"), "This person is listed twice.");
            }
        }
        if let (Some(email), Some(role)) = (email, role) {
            users.push(DescribedUser { email, role, password, index });
        }
    }
    users
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(value: Value) -> Vec<String> {
        TenantDescription::parse(&value).expect_err("should fail").iter().map(|(f, _)| f.to_owned()).collect()
    }

    #[test]
    fn the_issue_example_parses() {
        let d = TenantDescription::parse(&json!({
            "tenant": {"name": "Acme Corporation", "subdomain": "acme-corp", "plan_type": "professional",
                "contact_email": "billing@acme.com", "max_users": 40, "custom_domain": "dash.acme.com"},
            "users": [{"email": "admin@acme.com", "role": "owner"}, {"email": "m@acme.com", "role": "admin"}],
            "features": {"analytics_dashboard": true}, "settings": {"timezone": "America/New_York"}}))
        .unwrap();
        assert_eq!(d.name.as_str(), "Acme Corporation");
        assert_eq!(d.subdomain.as_str(), "acme-corp");
        assert_eq!(d.plan.unwrap().as_str(), "professional");
        assert_eq!(d.contact_email.unwrap().as_str(), "billing@acme.com");
        assert_eq!(d.custom_domain.unwrap().as_str(), "dash.acme.com");
        assert_eq!(d.limits, BTreeMap::from([("max_users".to_owned(), Some(40))]));
        assert_eq!(d.features, BTreeMap::from([("analytics_dashboard".to_owned(), true)]));
        assert_eq!(d.settings.get("timezone"), Some(&json!("America/New_York")));
        assert_eq!(d.users.len(), 2);
        assert!(d.users.iter().all(|u| u.role == RoleName::BuiltIn(Role::Admin) && u.password.is_none()));
        assert_eq!(d.users[1].index, 1);
    }

    #[test]
    fn the_subdomain_comes_from_the_name_when_left_out() {
        let d = TenantDescription::parse(&json!({"tenant": {"name": "Globex Labs"}})).unwrap();
        assert_eq!(d.subdomain.as_str(), "globex-labs");
        assert!(d.users.is_empty() && d.plan.is_none() && d.limits.is_empty());
    }

    #[test]
    fn every_bad_field_is_named_by_its_path() {
        let got = fields(json!({
            "tenant": {"name": "", "subdomain": "-bad-", "plan_type": "Not A Plan!", "contact_email": "nope", "max_users": -1,
                "colour": "red", "limits": {"max_tasks": "many"}},
            "users": [{"email": "x", "role": "owner"}, {"email": "a@b.co", "role": "??"}, "oops", {"email": "a@b.co", "role": "VIEWER"}],
            "features": {"Bad Name": true, "ok_name": "yes"},
            "settings": {"timezone": "Mars/Olympus"},
            "extra": 1}));
        for want in ["tenant.name", "tenant.subdomain", "tenant.plan_type", "tenant.contact_email", "tenant.max_users", "tenant.colour",
            "tenant.limits.max_tasks", "users[0].email", "users[1].role", "users[2]", "users[3].email", "features.Bad Name", "features.ok_name",
            "settings.timezone", "extra"]
        {
            assert!(got.contains(&want.to_owned()), "{want} missing from {got:?}");
        }
    }

    #[test]
    fn a_reserved_subdomain_and_a_missing_tenant_are_refused() {
        assert_eq!(fields(json!({"tenant": {"name": "Api", "subdomain": "www"}})), vec!["tenant.subdomain"]);
        assert_eq!(fields(json!({"users": []})), vec!["tenant"]);
        assert_eq!(fields(json!([1])), vec!["non_field_errors"]);
        assert_eq!(fields(json!({"tenant": "Acme"})), vec!["tenant"]);
    }

    #[test]
    fn owners_may_have_a_password_and_nobody_else() {
        let d = TenantDescription::parse(&json!({"tenant": {"name": "Initech"},
            "users": [{"email": "boss@initech.com", "role": "owner", "password": "a long enough passphrase 42"}]}))
        .unwrap();
        assert!(d.users[0].password.is_some());
        let got = fields(json!({"tenant": {"name": "Initech"}, "users": [{"email": "p@initech.com", "role": "VIEWER", "password": "a long enough passphrase 42"}]}));
        assert_eq!(got, vec!["users[0].password"]);
        let got = fields(json!({"tenant": {"name": "Initech"}, "users": [{"email": "p@initech.com", "role": "owner", "password": "short"}]}));
        assert_eq!(got, vec!["users[0].password"]);
    }

    #[test]
    fn a_description_is_told_from_the_flat_partner_body() {
        let object = |v: Value| v.as_object().unwrap().clone();
        assert!(TenantDescription::is_description(&object(json!({"tenant": {"name": "Acme"}}))));
        assert!(!TenantDescription::is_description(&object(json!({"company_name": "Acme", "email": "a@b.co"}))));
        assert!(!TenantDescription::is_description(&object(json!({"tenant": "Acme"}))));
    }

    #[test]
    fn a_blank_subdomain_or_industry_is_left_out_and_a_wrong_type_is_named() {
        let d = TenantDescription::parse(&json!({"tenant": {"name": "Globex Labs", "subdomain": "  ", "industry": ""}})).unwrap();
        assert_eq!(d.subdomain.as_str(), "globex-labs");
        assert_eq!(d.industry, None);
        let d = TenantDescription::parse(&json!({"tenant": {"name": "Globex Labs", "industry": "Retail"}})).unwrap();
        assert_eq!(d.industry.as_deref(), Some("Retail"));
        assert_eq!(fields(json!({"tenant": {"name": "Globex Labs", "subdomain": true}})), vec!["tenant.subdomain"]);
    }

    #[test]
    fn limits_may_be_unlimited_and_open_ended() {
        let d = TenantDescription::parse(&json!({"tenant": {"name": "Umbrella", "plan": "basic", "max_devices": null, "storage_quota_gb": 7,
            "limits": {"max_tasks": 3}}}))
        .unwrap();
        assert_eq!(d.plan.unwrap().as_str(), "basic");
        assert_eq!(d.limits.get("max_devices"), Some(&None));
        assert_eq!(d.limits.get("storage_quota_gb"), Some(&Some(7)));
        assert_eq!(d.limits.get("max_tasks"), Some(&Some(3)));
    }

    #[test]
    fn described_roles_map_owner_and_admin_to_admin() {
        assert_eq!(parse_described_role("Owner").unwrap(), RoleName::BuiltIn(Role::Admin));
        assert_eq!(parse_described_role("admin").unwrap(), RoleName::BuiltIn(Role::Admin));
        assert_eq!(parse_described_role("viewer").unwrap(), RoleName::BuiltIn(Role::Viewer));
        assert!(matches!(parse_described_role("developer").unwrap(), RoleName::Custom(_)));
        assert!(parse_described_role("!").is_err());
    }
}
