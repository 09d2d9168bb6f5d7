use super::*;
use crate::{
    domain::{PlatformRole, TenantId},
    service::{ProvisionInput, ProvisionUpdate, AcceptInvitationInput},
    store::PageRequest,
    testing, ServiceError,
};

async fn partner(services: &Services, email: &str) -> Actor {
    let (user, created) = services.set_platform_role(email, Some(PlatformRole::PartnerAdmin), Some(PASSWORD)).await.unwrap();
    assert!(created);
    services.actor_for(user.id, None).await.unwrap().unwrap()
}

fn provision(name: &str, email: &str) -> ProvisionInput {
    ProvisionInput { company_name: Raw::text(name), email: Raw::text(email), phone_number: Raw::text("+1 876 555 0100"), industry: Raw::text("Logistics") }
}

#[tokio::test]
async fn a_partner_provisions_a_tenant_whose_first_admin_joins_by_invitation() {
    let services = testing::services().await;
    let partner = partner(&services, "partner@reseller.test").await;
    assert!(!partner.is_superuser);
    let (tenant, issued) = services.provision_tenant(&partner, provision("Acme Inc", "owner@acme.test"), &meta()).await.unwrap();
    assert_eq!(tenant.slug, "acme-inc");
    assert_eq!(tenant.created_by_partner, Some(partner.user_id));
    assert_eq!(tenant.phone_number.as_deref(), Some("+1 876 555 0100"));
    assert_eq!(issued.invitation.role.as_ref().map(|r| r.as_str()), Some("ADMIN"));
    assert_eq!(token_mailed_to(&services, "invitation", "owner@acme.test").await, issued.token);
    let input = AcceptInvitationInput { token: Raw::text(&issued.token), password: Raw::text(PASSWORD), ..Default::default() };
    let owner = services.accept_invitation(input, &meta()).await.unwrap();
    assert_eq!(owner.tenant_id, Some(tenant.id));
    assert_eq!(owner.roles, vec![Role::Admin]);
}

#[tokio::test]
async fn provisioning_validates_every_field_and_refuses_ordinary_users() {
    let services = testing::services().await;
    let partner = partner(&services, "partner@reseller.test").await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    assert!(matches!(services.provision_tenant(&admin, ProvisionInput::default(), &meta()).await, Err(ServiceError::Forbidden(_))));
    let bad = ProvisionInput { company_name: Raw::Missing, email: Raw::text("nope"), phone_number: Raw::text("call me"), industry: Raw::Missing };
    let ServiceError::Validation(fields) = services.provision_tenant(&partner, bad, &meta()).await.unwrap_err() else { panic!() };
    for field in ["company_name", "email", "phone_number"] {
        assert!(fields.get(field).is_some(), "{field}");
    }
    let clash = services.provision_tenant(&partner, provision("ACME", "x@y.test"), &meta()).await.unwrap_err();
    assert!(matches!(&clash, ServiceError::Conflict { fields, .. } if fields.get("company_name").is_some()), "{clash:?}");
}

#[tokio::test]
async fn partners_manage_only_the_tenants_they_created() {
    let services = testing::services().await;
    let first = partner(&services, "one@reseller.test").await;
    let second = partner(&services, "two@reseller.test").await;
    let (mine, _) = services.provision_tenant(&first, provision("Mine", "a@mine.test"), &meta()).await.unwrap();
    let (theirs, _) = services.provision_tenant(&second, provision("Theirs", "b@theirs.test"), &meta()).await.unwrap();
    assert_eq!(services.provisioned_tenants(&first, PageRequest::first()).await.unwrap().items.iter().map(|t| t.id).collect::<Vec<_>>(), vec![mine.id]);
    assert!(matches!(services.provisioned_tenant(&first, theirs.id).await, Err(ServiceError::NotFound)));
    assert!(matches!(services.provisioned_tenant(&first, TenantId::new()).await, Err(ServiceError::NotFound)));
    let patch = ProvisionUpdate { company_name: Raw::text("Mine Renamed"), industry: Raw::text("Retail"), ..Default::default() };
    let updated = services.update_provisioned_tenant(&first, mine.id, patch, &meta()).await.unwrap();
    assert_eq!((updated.name.as_str(), updated.slug.as_str(), updated.industry.as_deref()), ("Mine Renamed", "mine-renamed", Some("Retail")));
    assert_eq!(updated.phone_number.as_deref(), Some("+1 876 555 0100"), "absent fields stay");
    assert!(matches!(services.delete_provisioned_tenant(&first, theirs.id, &meta()).await, Err(ServiceError::NotFound)));
    services.delete_provisioned_tenant(&first, mine.id, &meta()).await.unwrap();
    assert!(matches!(services.provisioned_tenant(&first, mine.id).await, Err(ServiceError::NotFound)));
    assert!(services.provisioned_tenant(&second, theirs.id).await.is_ok());
}

/// A partner receives its tenant's first invitation token too (issue 15): the same rules hold —
/// wrong passwords for an existing account spend it after five, and its mail is limited.
#[tokio::test]
async fn a_provisioning_token_is_spent_after_five_wrong_passwords_like_any_invitation() {
    let services = testing::services().await;
    let (victim_tenant, _) = tenant_with_admin(&services, "Victim").await;
    let partner = partner(&services, "partner@reseller.test").await;
    let (_, issued) = services.provision_tenant(&partner, provision("Bait Inc", "admin@victim.example.com"), &meta()).await.unwrap();
    let guess = |password: &str| AcceptInvitationInput { token: Raw::text(&issued.token), password: Raw::text(password), ..Default::default() };
    for attempt in 1..=4 {
        let error = services.accept_invitation(guess(&format!("guess {attempt} wrong")), &meta()).await.unwrap_err();
        assert!(matches!(&error, ServiceError::Validation(f) if f.get("password").is_some()), "{error:?}");
    }
    assert!(matches!(services.accept_invitation(guess("guess 5 wrong"), &meta()).await, Err(ServiceError::Gone { .. })));
    assert!(matches!(services.accept_invitation(guess(PASSWORD), &meta()).await, Err(ServiceError::Gone { .. })), "spent, even for the right password");
    services.settled().await;
    let seen = services.db().read().await.unwrap().audit_actions(victim_tenant.id).await.unwrap();
    assert_eq!(seen.iter().filter(|a| *a == "invitation_password_failed").count(), 5, "{seen:?}");
}

#[tokio::test]
async fn provisioning_mail_counts_against_the_recipients_hourly_limit() {
    let services = testing::services_with(&[("RATE_LIMIT_DISABLED", "0"), ("INVITATIONS_PER_RECIPIENT_PER_HOUR", "2")]).await;
    let partner = partner(&services, "partner@reseller.test").await;
    for name in ["One Inc", "Two Inc"] {
        services.provision_tenant(&partner, provision(name, "target@example.com"), &meta()).await.unwrap();
    }
    let third = services.provision_tenant(&partner, provision("Three Inc", "target@example.com"), &meta()).await;
    assert!(matches!(third, Err(ServiceError::RateLimited { .. })), "{third:?}");
    let made = services.provisioned_tenants(&partner, PageRequest::first()).await.unwrap();
    assert_eq!(made.count, 2, "the refused one left no tenant behind");
}
