//! Where a tenant is in its life, as `tenants.status` stores it. Decoded at the store's edge,
//! so a misspelt status cannot compare unequal to "active" somewhere in the service.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantStatus {
    /// Working: its members sign in, its tokens and keys are accepted.
    Active,
    /// Switched off by the platform: nothing acts in it until it is reactivated.
    Suspended,
    /// Deleted and waiting out its grace period before the purge (it can be restored).
    Deleted,
}

impl TenantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Deleted => "deleted",
        }
    }

    pub fn is_active(self) -> bool {
        self == Self::Active
    }
}

impl fmt::Display for TenantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<&str> for TenantStatus {
    type Error = String;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        match value {
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            "deleted" => Ok(Self::Deleted),
            other => Err(format!("unknown tenant status {other:?}")),
        }
    }
}

// Stored as text on both backends.
stored_as_text!(TenantStatus, TenantStatus::try_from, |status: &TenantStatus| status.as_str());

#[cfg(test)]
mod tests {
    use super::TenantStatus;

    #[test]
    fn each_status_reads_back_from_its_stored_text_and_nothing_else_does() {
        for status in [TenantStatus::Active, TenantStatus::Suspended, TenantStatus::Deleted] {
            assert_eq!(TenantStatus::try_from(status.as_str()), Ok(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
            assert_eq!(status.to_string(), status.as_str());
        }
        assert!(TenantStatus::Active.is_active());
        assert!(!TenantStatus::Suspended.is_active() && !TenantStatus::Deleted.is_active());
        assert!(TenantStatus::try_from("Active").is_err());
        assert!(TenantStatus::try_from("free").unwrap_err().contains("\"free\""));
    }
}
