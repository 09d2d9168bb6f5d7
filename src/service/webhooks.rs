//! Webhook endpoints and their deliveries. A tenant's endpoints are managed with
//! `tenant:write` (its ADMINs, or a key with that scope) and hear the events of that tenant; the
//! platform's own endpoints (superusers) hear the `tenant.*` events of every tenant. Each lookup
//! names its owner, so an id of another tenant's endpoint is simply not found.

use std::net::IpAddr;

use chrono::Duration as ChronoDuration;
use serde_json::json;
use uuid::Uuid;

use super::{events, now, Actor, Raw, RawList, RequestMeta, Services};
use crate::{
    domain::{AuditAction, EventSelection, EventType, Permission, TargetRule, TenantId, WebhookSecret, WebhookUrl},
    store::{Delivery, NewWebhook, Page, PageRequest, PendingEvent, Webhook, WebhookChange},
    FieldErrors, ServiceError, ServiceResult,
};

/// `POST /api/webhooks/` and `PATCH /api/webhooks/{id}/` (where every field is optional).
#[derive(Debug, Clone, Default)]
pub struct WebhookInput {
    pub url: Raw,
    pub events: RawList,
    pub description: Raw,
    pub active: Raw,
    /// Make a platform endpoint (superusers) rather than one of the caller's tenant.
    pub platform: Raw,
}

/// An endpoint just made, or its secret just rotated: the secret is shown this once.
#[derive(Debug, Clone)]
pub struct IssuedWebhook {
    pub webhook: Webhook,
    pub secret: String,
}

/// How long a rotated-out secret keeps signing, so receivers can switch without a gap.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;
/// Endpoints one owner may have.
pub const MAX_WEBHOOKS: usize = 50;

const DESCRIPTION_MAX: usize = 500;

fn parse_description(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    if text.chars().count() > DESCRIPTION_MAX {
        return Err(format!("Ensure this field has no more than {DESCRIPTION_MAX} characters."));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err("The description may not contain control characters.".into());
    }
    Ok(text.to_owned())
}

/// Whether a host name that resolves to `addresses` may be an endpoint: refused only when every
/// address is refused. A name with one usable address is accepted, because delivery connects
/// only to the addresses the rule allows (see `crate::webhooks::sender`).
fn resolved_target(rule: &TargetRule, host: &str, addresses: &[IpAddr]) -> Result<(), String> {
    match addresses.iter().find_map(|ip| rule.refusal(*ip).map(|why| (*ip, why))) {
        Some((ip, why)) if addresses.iter().all(|a| rule.refusal(*a).is_some()) => Err(format!("{host} resolves to {ip}, which is {why}; webhooks cannot be sent there.")),
        _ => Ok(()),
    }
}

fn parse_events(items: &[String]) -> Result<EventSelection, Vec<String>> {
    EventSelection::parse(items.iter().map(String::as_str))
}

/// Who owns the endpoints a call is about: `Some(tenant)`, or `None` for the platform's.
type Owner = Option<TenantId>;

impl Services {
    /// Where a call about endpoints acts: the platform's (superusers asking for them, or
    /// superusers outside any tenant) or the caller's tenant with `tenant:write`.
    fn webhook_owner(&self, actor: &Actor, platform: bool) -> ServiceResult<Owner> {
        if platform || (actor.is_superuser && actor.tenant_id.is_none() && actor.api_key.is_none()) {
            if actor.is_superuser && actor.api_key.is_none() {
                return Ok(None);
            }
            return Err(ServiceError::forbidden("Only platform administrators manage the platform's webhooks."));
        }
        Ok(Some(actor.require(Permission::TenantWrite)?))
    }

    /// The endpoint `id` as the caller may see it: one of the platform's for a superuser, else
    /// one of its tenant's (with `tenant:write`). Anything else is 404.
    async fn owned_webhook(&self, actor: &Actor, id: &str) -> ServiceResult<(Owner, Webhook)> {
        let id = Uuid::parse_str(id.trim()).map_err(|_| ServiceError::NotFound)?;
        if actor.is_superuser && actor.api_key.is_none() {
            if let Some(hook) = self.db().read().await?.webhook(None, id).await? {
                return Ok((None, hook));
            }
            if actor.tenant_id.is_none() {
                return Err(ServiceError::NotFound);
            }
        }
        let tenant = actor.require(Permission::TenantWrite)?;
        let hook = self.db().read_in(tenant).await?.webhook(Some(tenant), id).await?.ok_or(ServiceError::NotFound)?;
        Ok((Some(tenant), hook))
    }

    /// Checks that an endpoint's host may be reached: an address written out, or every
    /// address the name resolves to now, must be one [`TargetRule`] allows. Checked again at
    /// every delivery, where it counts; here it tells the person at once.
    async fn check_target(&self, url: &WebhookUrl) -> Result<(), String> {
        let rule = TargetRule { allow_private: self.config().webhook_allow_private };
        let refuse = |ip: IpAddr, why: &str| format!("Webhooks cannot be sent to {ip}: it is {why}.");
        if let Some(ip) = url.literal_ip() {
            return rule.refusal(ip).map_or(Ok(()), |why| Err(refuse(ip, why)));
        }
        let host = url.url().host_str().unwrap_or_default().to_owned();
        let lookup = tokio::time::timeout(std::time::Duration::from_secs(3), tokio::net::lookup_host((host.as_str(), 443))).await;
        // A name that does not resolve yet is accepted: its deliveries fail and retry until it does.
        let Ok(Ok(addresses)) = lookup else { return Ok(()) };
        let addresses: Vec<IpAddr> = addresses.map(|a| a.ip()).collect();
        resolved_target(&rule, &host, &addresses)
    }

    /// Makes an endpoint; the signing secret is in the answer, once.
    #[tracing::instrument(skip_all)]
    pub async fn create_webhook(&self, actor: &Actor, input: WebhookInput, meta: &RequestMeta) -> ServiceResult<IssuedWebhook> {
        let mut errors = FieldErrors::new();
        let platform = input.platform.optional(&mut errors, "platform", super::input::parse_flag).flatten().unwrap_or(false);
        let owner = self.webhook_owner(actor, platform)?;
        let url = input.url.required(&mut errors, "url", |raw| WebhookUrl::parse(raw, self.config().webhook_allow_http));
        let events = input.events.required(&mut errors, "events", parse_events);
        let description = input.description.optional(&mut errors, "description", parse_description).map(Option::unwrap_or_default);
        let active = input.active.optional(&mut errors, "active", super::input::parse_flag).map(|a| a.unwrap_or(true));
        if let Some(url) = &url {
            if let Err(message) = self.check_target(url).await {
                errors.add("url", message);
            }
        }
        if owner.is_none() {
            if let Some(EventSelection::Only(chosen)) = &events {
                let others: Vec<&str> = chosen.iter().filter(|e| e.group() != "tenant").map(|e| e.as_str()).collect();
                if !others.is_empty() {
                    errors.add("events", format!("Platform endpoints receive tenant.* events only, not {}.", others.join(", ")));
                }
            }
        }
        errors.into_result()?;
        let (url, events, description, active) = (url.unwrap(), events.unwrap(), description.unwrap(), active.unwrap());
        let secret = WebhookSecret::generate();
        let at = now();
        let mut tx = match owner {
            Some(tenant) => self.db().write_in(tenant).await?,
            None => self.db().write().await?,
        };
        if tx.webhooks(owner).await?.len() >= MAX_WEBHOOKS {
            return Err(ServiceError::conflict_detail(format!("There are already {MAX_WEBHOOKS} webhook endpoints here; delete one first.")));
        }
        let sealed = self.webhook_sealer().seal(&secret.to_text());
        let new = NewWebhook { tenant_id: owner, url: url.as_str(), description: &description, events: &events, active, sealed_secret: &sealed, created_by: Some(actor.user_id) };
        let id = tx.insert_webhook(new, at).await?;
        actor
            .audit(meta)
            .write(&mut tx, owner, AuditAction::WebhookCreated, "webhook", Some(id.to_string()), json!({"url": url.as_str(), "events": events.to_list(), "active": active}))
            .await?;
        let webhook = tx.webhook(owner, id).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(IssuedWebhook { webhook, secret: secret.to_text() })
    }

    /// The caller's tenant's endpoints, or the platform's (`platform`, superusers).
    #[tracing::instrument(skip_all)]
    pub async fn list_webhooks(&self, actor: &Actor, platform: bool) -> ServiceResult<Vec<Webhook>> {
        let owner = self.webhook_owner(actor, platform)?;
        let mut tx = match owner {
            Some(tenant) => self.db().read_in(tenant).await?,
            None => self.db().read().await?,
        };
        Ok(tx.webhooks(owner).await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn webhook(&self, actor: &Actor, id: &str) -> ServiceResult<Webhook> {
        Ok(self.owned_webhook(actor, id).await?.1)
    }

    /// Changes an endpoint (fields left out stay). Switching it on again after it was
    /// disabled sends what queued meanwhile, in order.
    #[tracing::instrument(skip_all)]
    pub async fn update_webhook(&self, actor: &Actor, id: &str, input: WebhookInput, meta: &RequestMeta) -> ServiceResult<Webhook> {
        let (owner, existing) = self.owned_webhook(actor, id).await?;
        let mut errors = FieldErrors::new();
        let url = input.url.optional(&mut errors, "url", |raw| WebhookUrl::parse(raw, self.config().webhook_allow_http)).flatten();
        let events = input.events.optional(&mut errors, "events", parse_events).flatten();
        let description = input.description.optional(&mut errors, "description", parse_description).flatten();
        let active = input.active.optional(&mut errors, "active", super::input::parse_flag).flatten();
        if let Some(url) = &url {
            if let Err(message) = self.check_target(url).await {
                errors.add("url", message);
            }
        }
        if let (None, Some(EventSelection::Only(chosen))) = (owner, &events) {
            if chosen.iter().any(|e| e.group() != "tenant") {
                errors.add("events", "Platform endpoints receive tenant.* events only.");
            }
        }
        errors.into_result()?;
        let change = WebhookChange { url: url.map(|u| u.as_str().to_owned()), description, events, active };
        let mut tx = match owner {
            Some(tenant) => self.db().write_in(tenant).await?,
            None => self.db().write().await?,
        };
        if !tx.update_webhook(owner, existing.id, &change, now()).await? {
            return Err(ServiceError::NotFound);
        }
        let updated = tx.webhook(owner, existing.id).await?.ok_or(ServiceError::NotFound)?;
        let mut changed = serde_json::Map::new();
        if updated.url != existing.url {
            changed.insert("url".into(), json!({"from": existing.url, "to": updated.url}));
        }
        if updated.events != existing.events {
            changed.insert("events".into(), json!({"from": existing.events.0.to_list(), "to": updated.events.0.to_list()}));
        }
        if updated.active != existing.active {
            changed.insert("active".into(), json!({"from": existing.active, "to": updated.active}));
        }
        if updated.description != existing.description {
            changed.insert("description".into(), json!({"from": existing.description, "to": updated.description}));
        }
        if !changed.is_empty() {
            actor.audit(meta).write(&mut tx, owner, AuditAction::WebhookUpdated, "webhook", Some(existing.id.to_string()), serde_json::Value::Object(changed)).await?;
        }
        tx.commit().await?;
        Ok(updated)
    }

    /// Deletes an endpoint and its deliveries (nothing more is sent to it).
    #[tracing::instrument(skip_all)]
    pub async fn delete_webhook(&self, actor: &Actor, id: &str, meta: &RequestMeta) -> ServiceResult<()> {
        let (owner, existing) = self.owned_webhook(actor, id).await?;
        let mut tx = match owner {
            Some(tenant) => self.db().write_in(tenant).await?,
            None => self.db().write().await?,
        };
        if tx.delete_webhook(owner, existing.id).await? {
            actor.audit(meta).write(&mut tx, owner, AuditAction::WebhookDeleted, "webhook", Some(existing.id.to_string()), json!({"url": existing.url})).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A new signing secret, shown once; the old one keeps signing for
    /// [`ROTATION_OVERLAP_HOURS`], so receivers can switch without missing a delivery.
    #[tracing::instrument(skip_all)]
    pub async fn rotate_webhook_secret(&self, actor: &Actor, id: &str, meta: &RequestMeta) -> ServiceResult<IssuedWebhook> {
        let (owner, existing) = self.owned_webhook(actor, id).await?;
        let secret = WebhookSecret::generate();
        let at = now();
        let mut tx = match owner {
            Some(tenant) => self.db().write_in(tenant).await?,
            None => self.db().write().await?,
        };
        let sealed = self.webhook_sealer().seal(&secret.to_text());
        let keep_until = at + ChronoDuration::hours(ROTATION_OVERLAP_HOURS);
        if !tx.rotate_webhook_secret(owner, existing.id, &sealed, keep_until, at).await? {
            return Err(ServiceError::NotFound);
        }
        actor
            .audit(meta)
            .write(&mut tx, owner, AuditAction::WebhookSecretRotated, "webhook", Some(existing.id.to_string()), json!({"previous_secret_signs_until": keep_until}))
            .await?;
        let webhook = tx.webhook(owner, existing.id).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(IssuedWebhook { webhook, secret: secret.to_text() })
    }

    /// An endpoint's deliveries, newest first, a page at a time.
    #[tracing::instrument(skip_all)]
    pub async fn webhook_deliveries(&self, actor: &Actor, id: &str, page: PageRequest) -> ServiceResult<Page<Delivery>> {
        let (owner, hook) = self.owned_webhook(actor, id).await?;
        let mut tx = match owner {
            Some(tenant) => self.db().read_in(tenant).await?,
            None => self.db().read().await?,
        };
        let (items, count) = tx.deliveries(owner, hook.id, page.limit(), page.offset()).await?;
        Ok(Page { items, count, page: page.page, page_size: page.page_size })
    }

    /// Sends a delivery again (a failed one, or one that succeeded and should be repeated):
    /// it is pending from now, with three new days to succeed in. A delivery still pending is
    /// tried now instead of after its backoff.
    #[tracing::instrument(skip_all)]
    pub async fn retry_webhook_delivery(&self, actor: &Actor, id: &str, delivery: &str, meta: &RequestMeta) -> ServiceResult<Delivery> {
        let (owner, hook) = self.owned_webhook(actor, id).await?;
        let delivery = Uuid::parse_str(delivery.trim()).map_err(|_| ServiceError::NotFound)?;
        let mut tx = match owner {
            Some(tenant) => self.db().write_in(tenant).await?,
            None => self.db().write().await?,
        };
        let found = tx.delivery(owner, hook.id, delivery).await?.ok_or(ServiceError::NotFound)?;
        if found.status == "pending" {
            // Waiting out its backoff: try it now (its three days keep counting).
            tx.make_webhook_due_now(hook.id, now()).await?;
        } else {
            tx.retry_delivery(owner, hook.id, delivery, now()).await?;
            actor
                .audit(meta)
                .write(&mut tx, owner, AuditAction::WebhookDeliveryRetried, "webhook", Some(hook.id.to_string()), json!({"delivery_id": delivery, "event_id": found.event_id, "was": found.status}))
                .await?;
        }
        let updated = tx.delivery(owner, hook.id, delivery).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        events::EVENTS_WRITTEN.notify_one();
        Ok(updated)
    }

    /// Sends a `ping` event to this endpoint alone, after whatever it has queued.
    #[tracing::instrument(skip_all)]
    pub async fn test_webhook(&self, actor: &Actor, id: &str) -> ServiceResult<Delivery> {
        let (owner, hook) = self.owned_webhook(actor, id).await?;
        if !hook.active {
            return Err(ServiceError::conflict_detail("This endpoint is switched off; switch it on to test it."));
        }
        let mut tx = match owner {
            Some(tenant) => self.db().write_in(tenant).await?,
            None => self.db().write().await?,
        };
        let actor_data = match &actor.api_key {
            Some(key) => events::EventActor::ApiKey { id: key.id, name: &key.name },
            None => events::EventActor::User { id: actor.user_id.0, email: &actor.email },
        };
        let data = events::event_data(EventType::Ping, "webhook", Some(&hook.id.to_string()), &json!({}), &actor_data);
        let (event_id, seq) = events::write_event(&mut tx, owner, EventType::Ping, data).await?;
        let at = now();
        let pending = PendingEvent { seq, id: event_id, tenant_id: owner, event_type: EventType::Ping.as_str().to_owned(), created_at: at };
        let delivery = tx.insert_delivery(hook.id, owner, &pending, at).await?;
        tx.finish_fan_out(&[seq]).await?;
        tx.make_webhook_due(hook.id, at).await?;
        let made = tx.delivery(owner, hook.id, delivery).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(made)
    }

    /// The events an endpoint can subscribe to.
    pub fn webhook_event_catalogue(&self) -> Vec<EventType> {
        EventType::ALL.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_refused_only_when_every_address_it_resolves_to_is() {
        let rule = TargetRule { allow_private: false };
        let public: IpAddr = [93, 184, 216, 34].into();
        let private: IpAddr = [10, 0, 0, 7].into();
        let metadata: IpAddr = [169, 254, 169, 254].into();
        assert_eq!(resolved_target(&rule, "ok.test", &[public]), Ok(()));
        assert_eq!(resolved_target(&rule, "mixed.test", &[private, public]), Ok(()), "delivery uses the public one only");
        let refused = resolved_target(&rule, "inside.test", &[private, metadata]).unwrap_err();
        assert!(refused.starts_with("inside.test resolves to 10.0.0.7"), "{refused}");
        assert_eq!(resolved_target(&rule, "unresolved.test", &[]), Ok(()), "retried until it resolves");
    }
}
