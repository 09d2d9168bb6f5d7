//! A tenant's own settings: its display name, description, contact, free-form settings (the
//! known keys checked), and branding (when its plan or an override gives it `custom_branding`).

use serde_json::{json, Map, Value};

use super::{now, Actor, Raw, RequestMeta, Services};
use crate::{
    domain::{AuditAction, parse_color, Email, Permission, TenantId},
    store::Tenant,
    FieldErrors, ServiceError, ServiceResult,
};

/// `PATCH /api/tenants/{id}/`: only the fields present change.
#[derive(Debug, Clone, Default)]
pub struct TenantSettingsInput {
    pub display_name: Raw,
    pub description: Raw,
    pub contact_email: Raw,
    /// Keys to set (`null` removes one); the others stay.
    pub settings: Option<Value>,
    /// The whole branding (`null` removes it).
    pub branding: Option<Value>,
}

/// The most a tenant's settings document may weigh.
pub const SETTINGS_MAX_BYTES: usize = 16 * 1024;

/// What branding a tenant shows: checked when saved, so pages and mails use it as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Branding {
    pub company_name: Option<String>,
    /// https only.
    pub logo_url: Option<String>,
    /// `#rrggbb`, lower case.
    pub primary_color: Option<String>,
}

impl Branding {
    /// The branding a tenant row carries, if any (it was checked when saved).
    pub fn of(tenant: &Tenant) -> Option<Self> {
        let stored = tenant.branding.0.as_ref()?;
        let text = |key: &str| stored.get(key).and_then(Value::as_str).map(str::to_owned);
        Some(Self { company_name: text("company_name"), logo_url: text("logo_url"), primary_color: text("primary_color") })
    }

    /// The same, as the mail templates take it.
    pub fn for_mail(&self) -> crate::mail::templates::MailBrand<'_> {
        crate::mail::templates::MailBrand {
            company_name: self.company_name.as_deref(),
            logo_url: self.logo_url.as_deref(),
            primary_color: self.primary_color.as_deref(),
        }
    }
}

fn short_text(raw: &str, max: usize) -> Result<Option<String>, String> {
    let text = raw.trim();
    if text.chars().count() > max {
        return Err(format!("Ensure this field has no more than {max} characters."));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err("This field may not contain control characters.".into());
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// An https URL with a host and nothing that could leave an attribute.
pub fn parse_logo_url(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    let Some(rest) = text.strip_prefix("https://") else { return Err("The logo must be an https:// URL.".into()) };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let clean = text.len() <= 2048 && !host.is_empty() && !text.chars().any(|c| c.is_whitespace() || c.is_control() || "\"'<>\\`".contains(c));
    if clean { Ok(text.to_owned()) } else { Err("Enter a plain https:// URL of an image (at most 2048 characters).".into()) }
}

fn parse_branding(value: &Value, errors: &mut FieldErrors) -> Option<Option<Map<String, Value>>> {
    let object = match value {
        Value::Null => return Some(None),
        Value::Object(object) => object,
        _ => {
            errors.add("branding", "Expected an object: {company_name, logo_url, primary_color}.");
            return None;
        }
    };
    let mut out = Map::new();
    let before = errors.clone();
    for (key, raw) in object {
        let field = format!("branding.{key}");
        let Some(text) = raw.as_str() else {
            if !raw.is_null() {
                errors.add(&field, "Not a valid string.");
            }
            continue;
        };
        let parsed = match key.as_str() {
            "company_name" => short_text(text, 100).map(|t| t.map(Value::String)),
            "logo_url" => parse_logo_url(text).map(|t| Some(Value::String(t))),
            "primary_color" => parse_color(text).map(|t| Some(Value::String(t))),
            _ => Err("Unknown branding field: use company_name, logo_url and primary_color.".into()),
        };
        match parsed {
            Ok(Some(v)) => {
                out.insert(key.clone(), v);
            }
            Ok(None) => {}
            Err(message) => errors.add(&field, message),
        }
    }
    (errors.iter().count() == before.iter().count()).then_some(Some(out))
}

/// Checks the known keys of a settings change; unknown ones are the host's and kept as given.
pub(super) fn check_settings(changes: &Map<String, Value>, errors: &mut FieldErrors) {
    for (key, value) in changes {
        if value.is_null() {
            continue;
        }
        let field = format!("settings.{key}");
        let problem = match key.as_str() {
            "timezone" => match value.as_str() {
                Some(zone) if zone.parse::<chrono_tz::Tz>().is_ok() => None,
                _ => Some("Enter an IANA time zone, e.g. America/New_York.".to_owned()),
            },
            "notifications" => match value.as_object() {
                Some(n) if n.iter().all(|(k, v)| (k == "email" || k == "in_app") && v.is_boolean()) => None,
                _ => Some("Expected {\"email\": true|false, \"in_app\": true|false}.".to_owned()),
            },
            "notification_email" => match value.as_str().map(Email::parse) {
                Some(Ok(_)) => None,
                _ => Some("Enter a valid email address.".to_owned()),
            },
            "data_retention_days" => match value.as_i64() {
                Some(days) if (1..=3650).contains(&days) => None,
                _ => Some("A whole number of days from 1 to 3650.".to_owned()),
            },
            "theme" => match value.as_str() {
                Some("light" | "dark" | "system") => None,
                _ => Some("Choose light, dark or system.".to_owned()),
            },
            "quota_alert_thresholds" => match value.as_array() {
                Some(list) if list.len() <= 10 && list.iter().all(|t| t.as_i64().is_some_and(|n| (1..=100).contains(&n))) => None,
                _ => Some("A list of up to 10 percentages from 1 to 100, e.g. [80, 100].".to_owned()),
            },
            _ => None,
        };
        if let Some(message) = problem {
            errors.add(&field, message);
        }
    }
}

impl Services {
    /// `GET /api/tenants/{id}/`: a tenant with its settings, for its members (and superusers).
    #[tracing::instrument(skip_all)]
    pub async fn tenant_details(&self, actor: &Actor, tenant: TenantId) -> ServiceResult<Tenant> {
        let tenant = self.tenant_where(actor, Some(tenant), Permission::TenantRead).await?;
        self.db().read_in(tenant).await?.tenant(tenant).await?.ok_or(ServiceError::NotFound)
    }

    /// `PATCH /api/tenants/{id}/`: `tenant:write` (ADMIN). Branding needs `custom_branding`
    /// (403 otherwise); every bad field is reported at once.
    #[tracing::instrument(skip_all)]
    pub async fn update_tenant_settings(&self, actor: &Actor, tenant: TenantId, input: TenantSettingsInput, meta: &RequestMeta) -> ServiceResult<Tenant> {
        let tenant = self.tenant_where(actor, Some(tenant), Permission::TenantWrite).await?;
        let mut errors = FieldErrors::new();
        let display_name = input.display_name.optional(&mut errors, "display_name", |raw| short_text(raw, 100));
        let description = input.description.optional(&mut errors, "description", |raw| short_text(raw, 1000));
        let contact_email = input.contact_email.optional(&mut errors, "contact_email", |raw| {
            if raw.trim().is_empty() { Ok(None) } else { Email::parse(raw).map(|e| Some(e.as_str().to_owned())) }
        });
        let settings = match &input.settings {
            None => None,
            Some(Value::Object(changes)) => {
                check_settings(changes, &mut errors);
                Some(changes.clone())
            }
            Some(_) => {
                errors.add("settings", "Expected an object.");
                None
            }
        };
        let branding = input.branding.as_ref().and_then(|value| parse_branding(value, &mut errors));
        errors.into_result()?;

        let mut tx = self.db().write_in(tenant).await?;
        let row = tx.tenant(tenant).await?.ok_or(ServiceError::NotFound)?;
        if matches!(branding, Some(Some(_))) && !self.has_feature(&mut tx, &row, "custom_branding").await? {
            return Err(ServiceError::forbidden("Branding needs the custom_branding feature, which this organisation's plan does not include."));
        }
        let mut merged = row.settings.0.clone();
        if let Some(changes) = &settings {
            for (key, value) in changes {
                if value.is_null() {
                    merged.remove(key);
                } else {
                    merged.insert(key.clone(), value.clone());
                }
            }
            if serde_json::to_string(&merged).map_or(0, |s| s.len()) > SETTINGS_MAX_BYTES {
                return Err(ServiceError::field("settings", format!("The settings may take at most {} KiB.", SETTINGS_MAX_BYTES / 1024)));
            }
        }
        // A field that was not sent stays as it is; an empty one is cleared.
        let given = |raw: &Raw, parsed: Option<Option<Option<String>>>| if *raw == Raw::Missing { None } else { parsed.map(Option::flatten) };
        let change = crate::store::TenantSettingsRow {
            display_name: given(&input.display_name, display_name),
            description: given(&input.description, description),
            contact_email: given(&input.contact_email, contact_email),
            settings: settings.is_some().then_some(&merged),
            branding: branding.as_ref().map(|b| b.as_ref()),
        };
        tx.update_tenant_settings(tenant, &change, now()).await?;
        let mut changed: Vec<&str> = Vec::new();
        for (name, given) in [("display_name", change.display_name.is_some()), ("description", change.description.is_some()),
            ("contact_email", change.contact_email.is_some()), ("settings", change.settings.is_some()), ("branding", change.branding.is_some())] {
            if given {
                changed.push(name);
            }
        }
        actor
            .audit(meta)
            .write(&mut tx, Some(tenant), AuditAction::TenantUpdated, "tenant", Some(tenant.to_string()), json!({"fields": changed}))
            .await?;
        let updated = tx.tenant(tenant).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(updated)
    }

    /// The branding a tenant shows (none without `custom_branding`).
    pub async fn branding_of(&self, tenant: &Tenant) -> ServiceResult<Option<Branding>> {
        if tenant.branding.0.is_none() {
            return Ok(None);
        }
        let mut tx = self.db().read().await?;
        self.branding_in(&mut tx, tenant).await
    }

    /// [`Self::branding_of`] inside a transaction (the mails written with an invitation or a
    /// reset token).
    pub(crate) async fn branding_in(&self, tx: &mut crate::store::Reader, tenant: &Tenant) -> ServiceResult<Option<Branding>> {
        if tenant.branding.0.is_none() {
            return Ok(None);
        }
        Ok(if self.has_feature(tx, tenant, "custom_branding").await? { Branding::of(tenant) } else { None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts_are_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(short_text("  Acme  ", 100).unwrap().as_deref(), Some("Acme"));
        assert_eq!(short_text(&"é".repeat(100), 100).unwrap().map(|t| t.chars().count()), Some(100));
        assert!(short_text(&"é".repeat(101), 100).is_err());
        assert_eq!(short_text("two\nlines", 100).unwrap().as_deref(), Some("two\nlines"));
        assert!(short_text("tab\there", 100).is_err());
        assert_eq!(short_text("   ", 100).unwrap(), None, "blank clears");
    }

    #[test]
    fn a_branding_field_is_text_or_null() {
        let mut errors = FieldErrors::new();
        let parsed = parse_branding(&serde_json::json!({"company_name": "Rockets", "logo_url": null}), &mut errors);
        assert_eq!(parsed.unwrap().unwrap().get("company_name").and_then(Value::as_str), Some("Rockets"));
        assert!(errors.is_empty(), "null leaves a field out");
        let mut errors = FieldErrors::new();
        assert!(parse_branding(&serde_json::json!({"company_name": 5}), &mut errors).is_none());
        assert!(errors.get("branding.company_name").is_some(), "a number is no name");
    }

    #[test]
    fn colours_and_logos_cannot_carry_markup_or_css() {
        assert_eq!(parse_color("#1F6FEB").unwrap(), "#1f6feb");
        for bad in ["red", "#1f6feb; background:url(x)", "#12345", "#1234567", "1f6feb0", "#ggg000"] {
            assert!(parse_color(bad).is_err(), "{bad}");
        }
        assert!(parse_logo_url("https://cdn.acme.com/logo.png").is_ok());
        for bad in ["http://acme.com/logo.png", "javascript:alert(1)", "https://", "https://x/\"onerror=\"alert(1)", "https://x/<script>", "https://a b"] {
            assert!(parse_logo_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn known_settings_are_checked_and_others_kept() {
        let mut errors = FieldErrors::new();
        let good: Map<String, Value> = serde_json::from_value(json!({
            "timezone": "America/New_York", "notifications": {"email": true, "in_app": false},
            "notification_email": "ops@acme.com", "data_retention_days": 90, "theme": "dark",
            "quota_alert_thresholds": [50, 90], "anything": {"the host": "keeps"}
        })).unwrap();
        check_settings(&good, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        let bad: Map<String, Value> = serde_json::from_value(json!({
            "timezone": "Mars/Olympus", "notifications": {"sms": true}, "notification_email": "nope",
            "data_retention_days": 0, "theme": "neon", "quota_alert_thresholds": [0, 101]
        })).unwrap();
        check_settings(&bad, &mut errors);
        assert_eq!(errors.iter().count(), 6, "{errors:?}");
        let mut errors = FieldErrors::new();
        assert_eq!(parse_branding(&json!({"company_name": "Acme", "primary_color": "#ABCDEF"}), &mut errors).unwrap().unwrap()["primary_color"], "#abcdef");
        assert!(parse_branding(&json!({"css": "x", "logo_url": "http://x"}), &mut errors).is_none());
        assert!(errors.get("branding.css").is_some() && errors.get("branding.logo_url").is_some());
        assert_eq!(parse_branding(&Value::Null, &mut FieldErrors::new()), Some(None));
    }
}
