//! Events out: which changes announce which webhook events, and the event itself. Every change
//! already records itself in the audit trail inside its own transaction ([`super::Audit`]);
//! the events are read off that record, in that same transaction, so a change and its events
//! commit together or not at all, and no service call can forget to announce itself.
//!
//! An event is written to `webhook_events`; the webhook worker fans it out to the endpoints
//! subscribed to it after the commit (see `crate::webhooks`).

use std::sync::LazyLock;

use serde_json::{json, Map, Value};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::{
    domain::{AuditAction, EventType, TenantId},
    store::Tx,
};

/// The events an audit action announces, for a row written in a tenant's trail. Most actions
/// announce none (a login is not an event); a role replaced by another is one revoked and
/// one assigned.
pub fn events_of(action: &AuditAction) -> &'static [EventType] {
    use AuditAction as A;
    use EventType::*;
    match action {
        A::TenantCreated | A::TenantProvisioned => &[TenantCreated],
        A::TenantUpdated | A::PlanChanged | A::FeaturesChanged | A::CustomDomainChanged => &[TenantUpdated],
        A::TenantSuspended => &[TenantSuspended],
        A::TenantReactivated | A::TenantRestored => &[TenantReactivated],
        A::TenantDeleted => &[TenantDeleted],
        A::InvitationCreated => &[MemberInvited],
        A::InvitationAccepted | A::MemberAdded | A::UserCreated => &[MemberJoined],
        A::MemberRemoved => &[MemberRemoved],
        A::RoleAssigned => &[RoleAssigned],
        A::RoleRevoked => &[RoleRevoked],
        A::RoleChanged => &[RoleRevoked, RoleAssigned],
        A::InvitationRevoked => &[InvitationRevoked],
        A::InvitationExpired => &[InvitationExpired],
        A::QuotaThresholdReached => &[QuotaThresholdReached],
        // Named one by one, so a new action is a decision here rather than silently no event.
        A::ApiKeyCreated
        | A::ApiKeyRevoked
        | A::AuditRetentionApplied
        | A::ImportStarted
        | A::InvitationExtended
        | A::InvitationLocked
        | A::InvitationPasswordFailed
        | A::InvitationResent
        | A::LoginFailed
        | A::LoginSucceeded
        | A::PasswordChangeFailed
        | A::PasswordChanged
        | A::PasswordResetCompleted
        | A::PasswordResetRequested
        | A::ReportViewed
        | A::RoleCreated
        | A::RoleDeleted
        | A::RoleUpdated
        | A::SecurityPolicyChanged
        | A::TenantImported
        | A::TenantPurged
        | A::TenantSwitched
        | A::PasskeyAdded
        | A::PasskeyRemoved
        | A::TwoFactorDisabled
        | A::TwoFactorEnabled
        | A::TwoFactorRemovalFailed
        | A::UsageReported
        | A::WebhookCreated
        | A::WebhookDeleted
        | A::WebhookDeliveryRetried
        | A::WebhookSecretRotated
        | A::WebhookUpdated
        | A::Other(_) => &[],
    }
}

/// The events of a platform-level audit row (one outside any tenant's trail). Deletions and
/// restores are written in both trails and announced from the tenant's; an imported tenant
/// has only the platform's record.
pub fn platform_events_of(action: &AuditAction) -> &'static [EventType] {
    match action {
        AuditAction::TenantImported => &[EventType::TenantCreated],
        _ => &[],
    }
}

/// Who made a change, as events name them.
pub enum EventActor<'a> {
    User { id: Uuid, email: &'a str },
    ApiKey { id: Uuid, name: &'a str },
    System,
}

/// Signalled when a transaction writes an event, so the worker looks soon after the commit
/// instead of at its next poll. One per process: any `Services` in it may have written.
pub static EVENTS_WRITTEN: LazyLock<Notify> = LazyLock::new(Notify::new);

/// What an audit record tells a webhook receiver: its details, the id of what changed
/// (`user_id`, `invitation_id` …) and who did it.
pub(crate) fn event_data(event: EventType, resource_type: &str, resource_id: Option<&str>, metadata: &Value, actor: &EventActor<'_>) -> Value {
    let mut data: Map<String, Value> = match metadata {
        Value::Object(map) => map.iter().filter(|(k, _)| k.as_str() != "api_key").map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => Map::new(),
    };
    if let Some(id) = resource_id {
        if resource_type != "tenant" {
            data.entry(format!("{resource_type}_id")).or_insert_with(|| Value::String(id.to_owned()));
        }
    }
    // A role replaced by another: the revoked event names the old role, the assigned the new.
    if let (Some(from), Some(to)) = (metadata.get("from").cloned(), metadata.get("to").cloned()) {
        match event {
            EventType::RoleRevoked => {
                data.insert("role".into(), from);
            }
            EventType::RoleAssigned => {
                data.insert("role".into(), to);
            }
            _ => {}
        }
    }
    data.insert(
        "actor".into(),
        match actor {
            EventActor::User { id, email } => json!({"type": "user", "id": id, "email": email}),
            EventActor::ApiKey { id, name } => json!({"type": "api_key", "id": id, "name": name}),
            EventActor::System => Value::Null,
        },
    );
    Value::Object(data)
}

/// The body every delivery of the event sends: `{"id", "type", "created_at", "tenant_id",
/// "data"}`.
pub(crate) fn payload(id: Uuid, event: EventType, created_at: chrono::DateTime<chrono::Utc>, tenant: Option<TenantId>, data: Value) -> String {
    json!({
        "id": id,
        "type": event.as_str(),
        "created_at": created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "tenant_id": tenant.map(|t| t.0),
        "data": data,
    })
    .to_string()
}

/// Writes one event in the caller's transaction; its id and sequence number.
pub(crate) async fn write_event(tx: &mut Tx, tenant: Option<TenantId>, event: EventType, data: Value) -> Result<(Uuid, i64), sqlx::Error> {
    // Time-ordered (v7): each new id lands at the end of the events' id index instead of on a
    // random page of it, so a stream of events dirties a page or two of it per commit rather
    // than one each (SQLite writes every dirtied page to its WAL and back). The id says when
    // the event happened, which its body says anyway.
    let id = Uuid::now_v7();
    let at = super::now();
    let seq = tx.insert_event(id, tenant, event.as_str(), &payload(id, event, at, tenant, data), at).await?;
    EVENTS_WRITTEN.notify_one();
    Ok((id, seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_of_the_catalogue_is_announced_by_some_change() {
        let actions = [
            "tenant_created", "tenant_provisioned", "tenant_updated", "plan_changed", "features_changed", "custom_domain_changed",
            "tenant_suspended", "tenant_reactivated", "tenant_restored", "tenant_deleted", "invitation_created", "invitation_accepted",
            "member_added", "user_created", "member_removed", "role_assigned", "role_revoked", "role_changed", "invitation_revoked",
            "invitation_expired", "quota_threshold_reached",
        ];
        let announced: std::collections::BTreeSet<EventType> = actions.iter().flat_map(|a| events_of(&AuditAction::from_stored(a)).iter().copied()).collect();
        assert_eq!(announced, EventType::ALL.into_iter().collect());
        for quiet in ["login_succeeded", "login_failed", "api_key_created", "tenant_switched", "password_changed", ""] {
            assert!(events_of(&AuditAction::from_stored(quiet)).is_empty(), "{quiet}");
        }
        assert_eq!(events_of(&AuditAction::RoleChanged), [EventType::RoleRevoked, EventType::RoleAssigned]);
        assert_eq!(platform_events_of(&AuditAction::TenantImported), [EventType::TenantCreated]);
        assert!(platform_events_of(&AuditAction::TenantDeleted).is_empty(), "announced from the tenant's own trail");
    }

    #[test]
    fn data_carries_the_details_the_changed_thing_and_the_actor_but_no_key_twice() {
        let user = Uuid::new_v4();
        let key = Uuid::new_v4();
        let data = event_data(
            EventType::MemberInvited,
            "invitation",
            Some("abc"),
            &json!({"email": "a@x.test", "role": "VIEWER", "api_key": {"id": key, "name": "ci"}}),
            &EventActor::ApiKey { id: key, name: "ci" },
        );
        assert_eq!(data, json!({"email": "a@x.test", "role": "VIEWER", "invitation_id": "abc", "actor": {"type": "api_key", "id": key, "name": "ci"}}));
        let changed = json!({"from": "VIEWER", "to": "ADMIN", "email": "b@x.test"});
        let actor = EventActor::User { id: user, email: "admin@x.test" };
        assert_eq!(event_data(EventType::RoleRevoked, "user", Some("u1"), &changed, &actor)["role"], "VIEWER");
        assert_eq!(event_data(EventType::RoleAssigned, "user", Some("u1"), &changed, &actor)["role"], "ADMIN");
        assert_eq!(event_data(EventType::RoleAssigned, "user", Some("u1"), &changed, &actor)["user_id"], "u1");
        let tenant = event_data(EventType::TenantSuspended, "tenant", Some("t1"), &json!({}), &EventActor::System);
        assert_eq!(tenant, json!({"actor": null}), "the tenant's id is in the envelope");
    }

    #[test]
    fn the_payload_is_the_documented_envelope() {
        let id = Uuid::new_v4();
        let tenant = TenantId(Uuid::new_v4());
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-04T10:00:00.123456Z").unwrap().with_timezone(&chrono::Utc);
        let body: Value = serde_json::from_str(&payload(id, EventType::MemberJoined, at, Some(tenant), json!({"email": "a@x.test"}))).unwrap();
        assert_eq!(
            body,
            json!({"id": id, "type": "member.joined", "created_at": "2026-12-04T10:00:00.123456Z", "tenant_id": tenant.0, "data": {"email": "a@x.test"}})
        );
    }
}
