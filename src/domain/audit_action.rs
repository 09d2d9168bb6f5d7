//! What an audit row records, as `audit_log.action` stores it. The service writes only the
//! named actions, so a misspelt one does not compile (and cannot silently miss its webhook
//! event, which `events::events_of` picks by matching on this type). Reading is lenient: a
//! tenant imported from another installation brings its trail as that version wrote it, and
//! an action this version does not know is kept, as [`AuditAction::Other`], not refused.

use std::fmt;

use serde::{Serialize, Serializer};
use sqlx::error::BoxDynError;

/// Declares the actions with their stored names, once.
macro_rules! actions {
    ($($variant:ident = $text:literal,)*) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            $($variant,)*
            /// An action another version recorded (see the module's comment). Only decoding a
            /// stored row makes one.
            Other(UnknownAction),
        }

        impl AuditAction {
            /// Every action this version writes.
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)*];

            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Other(UnknownAction(text)) => text,
                }
            }

            /// Reads a stored action name; never fails (see [`AuditAction::Other`]).
            pub fn from_stored(text: &str) -> Self {
                match text {
                    $($text => Self::$variant,)*
                    other => Self::Other(UnknownAction(other.to_owned())),
                }
            }
        }
    };
}

actions! {
    ApiKeyCreated = "api_key_created",
    ApiKeyRevoked = "api_key_revoked",
    AuditRetentionApplied = "audit_retention_applied",
    CustomDomainChanged = "custom_domain_changed",
    FeaturesChanged = "features_changed",
    ImportStarted = "import_started",
    InvitationAccepted = "invitation_accepted",
    InvitationCreated = "invitation_created",
    InvitationExpired = "invitation_expired",
    InvitationExtended = "invitation_extended",
    InvitationLocked = "invitation_locked",
    InvitationPasswordFailed = "invitation_password_failed",
    InvitationResent = "invitation_resent",
    InvitationRevoked = "invitation_revoked",
    LoginFailed = "login_failed",
    LoginSucceeded = "login_succeeded",
    MemberAdded = "member_added",
    MemberRemoved = "member_removed",
    PasskeyAdded = "passkey_added",
    PasskeyRemoved = "passkey_removed",
    PasswordChangeFailed = "password_change_failed",
    PasswordChanged = "password_changed",
    PasswordResetCompleted = "password_reset_completed",
    PasswordResetRequested = "password_reset_requested",
    PlanChanged = "plan_changed",
    QuotaThresholdReached = "quota_threshold_reached",
    ReportViewed = "report_viewed",
    RoleAssigned = "role_assigned",
    RoleChanged = "role_changed",
    RoleCreated = "role_created",
    RoleDeleted = "role_deleted",
    RoleRevoked = "role_revoked",
    RoleUpdated = "role_updated",
    SecurityPolicyChanged = "security_policy_changed",
    TenantCreated = "tenant_created",
    TenantDeleted = "tenant_deleted",
    TenantImported = "tenant_imported",
    TenantProvisioned = "tenant_provisioned",
    TenantPurged = "tenant_purged",
    TenantReactivated = "tenant_reactivated",
    TenantRestored = "tenant_restored",
    TenantSuspended = "tenant_suspended",
    TenantSwitched = "tenant_switched",
    TenantUpdated = "tenant_updated",
    TwoFactorDisabled = "2fa_disabled",
    TwoFactorEnabled = "2fa_enabled",
    TwoFactorRemovalFailed = "2fa_removal_failed",
    UsageReported = "usage_reported",
    UserCreated = "user_created",
    WebhookCreated = "webhook_created",
    WebhookDeleted = "webhook_deleted",
    WebhookDeliveryRetried = "webhook_delivery_retried",
    WebhookSecretRotated = "webhook_secret_rotated",
    WebhookUpdated = "webhook_updated",
}

/// The stored name of an action this version does not write.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnknownAction(String);

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares the stored name (tests and filters read rows by name).
impl PartialEq<str> for AuditAction {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for AuditAction {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for AuditAction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

// Stored as text on both backends.
stored_as_text!(AuditAction, |text: &str| Ok::<_, BoxDynError>(AuditAction::from_stored(text)), AuditAction::as_str);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_reads_back_as_itself_and_anything_else_is_kept_as_it_was() {
        for action in AuditAction::ALL {
            assert_eq!(&AuditAction::from_stored(action.as_str()), action);
            assert!(!matches!(action, AuditAction::Other(_)));
        }
        let names: std::collections::HashSet<&str> = AuditAction::ALL.iter().map(AuditAction::as_str).collect();
        assert_eq!(names.len(), AuditAction::ALL.len(), "stored names are distinct");
        let foreign = AuditAction::from_stored("sso_connection_added");
        assert_eq!(foreign, AuditAction::Other(UnknownAction("sso_connection_added".into())));
        assert_eq!(foreign.as_str(), "sso_connection_added");
        assert_eq!(serde_json::to_value(&AuditAction::RoleChanged).unwrap(), serde_json::json!("role_changed"));
        assert_eq!(AuditAction::TenantSuspended.to_string(), "tenant_suspended");
        assert!(AuditAction::RoleChanged == "role_changed" && AuditAction::RoleChanged != "role_assigned");
        assert!(foreign == *"sso_connection_added");
    }
}
