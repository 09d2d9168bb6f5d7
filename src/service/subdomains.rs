//! A tenant's slug is its subdomain: whether one is free, what to offer instead, and which
//! tenant a request's host names (with `TENANT_BASE_DOMAIN`, or a tenant's custom domain).

use serde_json::json;

use super::{now, Actor, Raw, RequestMeta, Services};
use crate::{
    domain::{AuditAction, CustomDomain, TenantId, TenantSlug},
    store::Tenant,
    FieldErrors, ServiceError, ServiceResult,
};

/// `GET /api/tenants/check-subdomain/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubdomainCheck {
    pub subdomain: String,
    pub available: bool,
    /// Why not, when it is not.
    pub reason: Option<String>,
    /// Five free subdomains like it.
    pub suggestions: Vec<String>,
}

/// What a request's host says about its tenant.
#[derive(Debug, Clone)]
pub enum HostTenant {
    /// Not under the base domain (or no base domain set), and no tenant's custom domain.
    None,
    /// The base domain itself (or `www.` of it).
    Apex,
    Tenant(Box<Tenant>),
    /// Under the base domain, but no tenant has that subdomain.
    Unknown,
}

const SUGGESTIONS: usize = 5;

impl Services {
    /// Whether a subdomain is free, why not, and five free ones like it. Anyone may ask.
    #[tracing::instrument(skip_all)]
    pub async fn check_subdomain(&self, raw: &str) -> ServiceResult<SubdomainCheck> {
        let slug = TenantSlug::parse_subdomain(raw).map_err(|m| ServiceError::field("subdomain", m))?;
        let mut tx = self.db().read().await?;
        let reason = if slug.is_reserved() {
            Some("This subdomain is reserved for the service.".to_owned())
        } else if tx.tenant_by_slug(slug.as_str()).await?.is_some() {
            Some("An organisation already uses this subdomain.".to_owned())
        } else {
            None
        };
        let mut suggestions = Vec::new();
        for variant in slug.variants() {
            if suggestions.len() == SUGGESTIONS {
                break;
            }
            if tx.tenant_by_slug(variant.as_str()).await?.is_none() {
                suggestions.push(variant.as_str().to_owned());
            }
        }
        Ok(SubdomainCheck { subdomain: slug.as_str().to_owned(), available: reason.is_none(), reason, suggestions })
    }

    /// Five free subdomains for an organisation's name (the CLI's `suggest-subdomains`): its
    /// slug first when free.
    pub async fn suggest_subdomains(&self, name: &str) -> ServiceResult<Vec<String>> {
        let name = crate::domain::TenantName::parse(name).map_err(|m| ServiceError::field("name", m))?;
        let slug = TenantSlug::from_name(&name).map_err(|m| ServiceError::field("name", m))?;
        let slug = TenantSlug::parse_subdomain(slug.as_str()).map_err(|m| ServiceError::field("name", m))?;
        let check = self.check_subdomain(slug.as_str()).await?;
        let mut out: Vec<String> = check.available.then(|| check.subdomain.clone()).into_iter().collect();
        out.extend(check.suggestions);
        out.truncate(SUGGESTIONS);
        Ok(out)
    }

    /// `PUT /api/tenants/{id}/domain/`: the tenant's own domain (`""` removes it). Like a plan,
    /// a domain is the operator's to give (it routes sign-ins, and nobody may squat another's):
    /// superusers and the partner that provisioned the tenant. One tenant per domain (409);
    /// names under `TENANT_BASE_DOMAIN` are subdomains already (400).
    #[tracing::instrument(skip_all)]
    pub async fn set_custom_domain(&self, actor: &Actor, tenant: TenantId, domain: Raw, meta: &RequestMeta) -> ServiceResult<Tenant> {
        self.plan_manager(actor, tenant).await?;
        let mut errors = FieldErrors::new();
        let base = self.config().tenant_base_domain.clone();
        let domain = domain
            .required(&mut errors, "custom_domain", |raw| {
                if raw.trim().is_empty() {
                    return Ok(None);
                }
                let domain = CustomDomain::parse(raw)?;
                match base.as_deref() {
                    Some(base) if domain.is_within(base) => Err(format!("Names under {base} are the organisations' subdomains; use the slug instead.")),
                    _ => Ok(Some(domain)),
                }
            })
            .flatten();
        errors.into_result()?;
        let taken = || ServiceError::conflict("custom_domain", "Another organisation already uses this domain.");
        let mut tx = self.db().write_in(tenant).await?;
        let before = tx.tenant(tenant).await?.ok_or(ServiceError::NotFound)?;
        if let Some(domain) = &domain {
            if tx.tenant_by_custom_domain(domain.as_str()).await?.is_some_and(|t| t.id != tenant) {
                return Err(taken());
            }
        }
        // Two operators giving one domain at once: the unique index decides.
        tx.set_custom_domain(tenant, domain.as_ref().map(CustomDomain::as_str), now())
            .await
            .map_err(|e| if crate::error::is_unique_violation(&e) { taken() } else { e.into() })?;
        actor
            .audit(meta)
            .write(&mut tx, Some(tenant), AuditAction::CustomDomainChanged, "tenant", Some(tenant.to_string()),
                json!({"old": before.custom_domain, "new": domain.as_ref().map(CustomDomain::as_str)}))
            .await?;
        let updated = tx.tenant(tenant).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(updated)
    }

    /// The tenant a request's `Host` names: `<slug>.<TENANT_BASE_DOMAIN>`, or a tenant's
    /// custom domain. Without a base domain only custom domains count.
    pub async fn tenant_for_host(&self, host: &str) -> ServiceResult<HostTenant> {
        let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
        let host = host.rsplit_once(':').filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit())).map_or(host.as_str(), |(h, _)| h).to_owned();
        if let Some(base) = self.config().tenant_base_domain.as_deref() {
            if host == base || host == format!("www.{base}") {
                return Ok(HostTenant::Apex);
            }
            if let Some(label) = host.strip_suffix(&format!(".{base}")) {
                if label.contains('.') {
                    return Ok(HostTenant::Unknown);
                }
                return Ok(match self.db().read().await?.tenant_by_slug(label).await? {
                    Some(tenant) if tenant.status.is_active() => HostTenant::Tenant(Box::new(tenant)),
                    _ => HostTenant::Unknown,
                });
            }
        }
        Ok(match self.db().read().await?.tenant_by_custom_domain(&host).await? {
            Some(tenant) if tenant.status.is_active() => HostTenant::Tenant(Box::new(tenant)),
            _ => HostTenant::None,
        })
    }
}
