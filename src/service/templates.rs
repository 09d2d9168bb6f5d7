//! Tenant templates (`TENANT_TEMPLATES_FILE`, YAML): named sets of settings, limits,
//! features and default roles with their first people, applied under a description
//! (`"template": "department_template"`, `create-tenant --template …`). What the description
//! says itself wins. `${VAR}` in a template is filled from the description's `vars`
//! (`--var KEY=VALUE`), else from the server's environment.
//!
//! ```yaml
//! templates:
//!   department_template:
//!     description: A department with a lead developer
//!     plan: professional
//!     limits: {max_users: 25}
//!     features: {analytics: true}
//!     settings: {timezone: "${TZ}"}
//!     default_roles:
//!       - name: developer
//!         permissions: [members:read, invitations:read]
//!         users: ["${LEAD_EMAIL}"]
//!       - name: owner
//!         users: ["${OWNER_EMAIL}"]
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::tenant_description::{parse_described_role, DescribedRole, DescribedUser, TenantDescription};
use crate::{
    domain::{parse_grants, CustomRoleName, Email, FeatureName, LimitName, PlanName, RoleName},
    FieldErrors, ServiceError, ServiceResult,
};

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TemplateFile {
    #[serde(default)]
    pub templates: BTreeMap<String, Template>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Template {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub plan: Option<String>,
    #[serde(default)]
    pub limits: BTreeMap<String, Option<i64>>,
    #[serde(default)]
    pub features: BTreeMap<String, bool>,
    #[serde(default)]
    pub settings: Map<String, Value>,
    #[serde(default)]
    pub default_roles: Vec<TemplateRole>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TemplateRole {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default)]
    pub users: Vec<String>,
}

/// Reads the templates file; no file configured is no templates.
pub fn load_templates(path: Option<&std::path::Path>) -> ServiceResult<TemplateFile> {
    let Some(path) = path else { return Ok(TemplateFile::default()) };
    let text = std::fs::read_to_string(path).map_err(|e| ServiceError::Internal(anyhow::anyhow!("cannot read TENANT_TEMPLATES_FILE {}: {e}", path.display())))?;
    serde_yaml::from_str(&text).map_err(|e| ServiceError::Internal(anyhow::anyhow!("TENANT_TEMPLATES_FILE {} is not a valid templates file: {e}", path.display())))
}

/// `${NAME}` replaced from `vars`, else the environment; every missing name is collected.
fn substitute(text: &str, vars: &BTreeMap<String, String>, missing: &mut Vec<String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match vars.get(name).cloned().or_else(|| std::env::var(name).ok()) {
                    Some(value) => out.push_str(&value),
                    None => {
                        if !missing.iter().any(|m| m == name) {
                            missing.push(name.to_owned());
                        }
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn substitute_value(value: &Value, vars: &BTreeMap<String, String>, missing: &mut Vec<String>) -> Value {
    match value {
        Value::String(text) => Value::String(substitute(text, vars, missing)),
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute_value(v, vars, missing)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), substitute_value(v, vars, missing))).collect()),
        other => other.clone(),
    }
}

impl Template {
    /// The description with this template filled in under it. Errors are reported under
    /// `template.…` (the template is the operator's; the caller learns what to fix or ask for).
    pub fn apply(&self, name: &str, mut d: TenantDescription) -> ServiceResult<TenantDescription> {
        let mut errors = FieldErrors::new();
        let mut missing = Vec::new();
        if d.plan.is_none() {
            if let Some(plan) = &self.plan {
                d.plan = errors.check("template.plan", PlanName::parse(&substitute(plan, &d.vars, &mut missing)));
            }
        }
        for (limit, value) in &self.limits {
            match LimitName::parse(limit) {
                Ok(limit) => {
                    d.limits.entry(limit.as_str().to_owned()).or_insert(*value);
                }
                Err(message) => errors.add(&format!("template.limits.{limit}"), message),
            }
        }
        for (feature, on) in &self.features {
            match FeatureName::parse(feature) {
                Ok(feature) => {
                    d.features.entry(feature.as_str().to_owned()).or_insert(*on);
                }
                Err(message) => errors.add(&format!("template.features.{feature}"), message),
            }
        }
        let settings = substitute_value(&Value::Object(self.settings.clone()), &d.vars, &mut missing);
        if let Value::Object(settings) = settings {
            let unset: Map<String, Value> = settings.into_iter().filter(|(k, _)| !d.settings.contains_key(k)).collect();
            super::settings::check_settings(&unset, &mut errors);
            d.settings.extend(unset);
        }
        let mut next_index = d.users.iter().map(|u| u.index + 1).max().unwrap_or(0);
        for (i, role) in self.default_roles.iter().enumerate() {
            let path = format!("template.default_roles[{i}]");
            let Some(role_name) = errors.check(&format!("{path}.name"), parse_described_role(&role.name)) else { continue };
            if let RoleName::Custom(custom) = &role_name {
                if !d.roles.iter().any(|r| r.name == *custom) {
                    let grants = match parse_grants(role.permissions.iter().map(String::as_str)) {
                        Ok(grants) => grants,
                        Err(bad) => {
                            errors.add(&format!("{path}.permissions"), bad.join(" "));
                            continue;
                        }
                    };
                    let name = CustomRoleName::parse(custom.as_str()).expect("parsed above");
                    d.roles.push(DescribedRole { name, description: role.description.clone().unwrap_or_default(), grants });
                }
            }
            for user in &role.users {
                let email = substitute(user, &d.vars, &mut missing);
                if email.trim().is_empty() {
                    continue;
                }
                let Some(email) = errors.check(&format!("{path}.users"), Email::parse(&email)) else { continue };
                if d.users.iter().any(|u| u.email == email) {
                    continue;
                }
                d.users.push(DescribedUser { email, role: role_name.clone(), password: None, index: next_index });
                next_index += 1;
            }
        }
        for var in missing {
            errors.add("template", format!("The template \"{name}\" uses ${{{var}}}, which is not set: pass it in \"vars\" (--var {var}=…)."));
        }
        errors.into_result()?;
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const FILE: &str = r#"
templates:
  department_template:
    description: A department
    plan: professional
    limits: {max_users: 25, max_tasks: 100}
    features: {analytics: true}
    settings: {timezone: "${TZ_NAME}"}
    default_roles:
      - name: developer
        permissions: ["members:read", "invitations:*"]
        users: ["${LEAD_EMAIL}"]
      - name: owner
        users: ["${OWNER_EMAIL}"]
"#;

    fn template() -> Template {
        let file: TemplateFile = serde_yaml::from_str(FILE).unwrap();
        file.templates["department_template"].clone()
    }

    #[test]
    fn a_template_fills_in_under_the_description() {
        let d = TenantDescription::parse(&json!({"tenant": {"name": "Research", "max_users": 10},
            "vars": {"TZ_NAME": "Europe/Paris", "LEAD_EMAIL": "lead@r.test", "OWNER_EMAIL": "boss@r.test"}})).unwrap();
        let d = template().apply("department_template", d).unwrap();
        assert_eq!(d.plan.unwrap().as_str(), "professional");
        assert_eq!(d.limits.get("max_users"), Some(&Some(10)), "the description's own value wins");
        assert_eq!(d.limits.get("max_tasks"), Some(&Some(100)));
        assert_eq!(d.features.get("analytics"), Some(&true));
        assert_eq!(d.settings.get("timezone"), Some(&json!("Europe/Paris")));
        assert_eq!(d.roles.len(), 1);
        assert_eq!(d.roles[0].name.as_str(), "developer");
        assert_eq!(d.users.iter().map(|u| (u.email.as_str(), u.role.as_str())).collect::<Vec<_>>(), vec![("lead@r.test", "developer"), ("boss@r.test", "ADMIN")]);
    }

    #[test]
    fn a_role_the_description_defines_wins_over_the_templates() {
        let d = TenantDescription::parse(&json!({"tenant": {"name": "Research"}, "roles": [{"name": "developer", "permissions": ["members:read"]}],
            "vars": {"TZ_NAME": "UTC", "LEAD_EMAIL": "lead@r.test", "OWNER_EMAIL": "boss@r.test"}})).unwrap();
        let d = template().apply("department_template", d).unwrap();
        assert_eq!(d.roles.len(), 1);
        assert_eq!(d.roles[0].grants.iter().map(|g| g.to_text()).collect::<Vec<_>>(), vec!["members:read"]);
    }

    #[test]
    fn a_missing_variable_is_named() {
        let d = TenantDescription::parse(&json!({"tenant": {"name": "Research"}, "vars": {"TZ_NAME": "UTC"}})).unwrap();
        let ServiceError::Validation(fields) = template().apply("department_template", d).unwrap_err() else { panic!() };
        let messages = fields.get("template").unwrap().join(" ");
        assert!(messages.contains("LEAD_EMAIL") && messages.contains("OWNER_EMAIL"), "{messages}");
    }

    #[test]
    fn substitution_leaves_plain_text_alone() {
        let mut missing = Vec::new();
        let vars = BTreeMap::from([("A".to_owned(), "1".to_owned())]);
        assert_eq!(substitute("x${A}y${A}", &vars, &mut missing), "x1y1");
        assert_eq!(substitute("no vars", &vars, &mut missing), "no vars");
        assert_eq!(substitute("open ${A", &vars, &mut missing), "open ${A");
        assert!(missing.is_empty());
        substitute("${TENANTRY_SURELY_UNSET_VARIABLE}", &vars, &mut missing);
        assert_eq!(missing, vec!["TENANTRY_SURELY_UNSET_VARIABLE"]);
    }

    #[test]
    fn a_templates_file_refuses_unknown_keys() {
        assert!(serde_yaml::from_str::<TemplateFile>("templates:\n  t:\n    colour: red\n").is_err());
    }
}
