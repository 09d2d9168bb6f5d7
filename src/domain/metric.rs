//! Tenant metrics: what is counted, from which audit actions, over which periods.

use std::fmt;

/// One metric of `GET /api/tenants/{id}/metrics/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// People who did anything recorded in the tenant's audit trail (signing in included).
    ActiveUsers,
    Logins,
    FailedLogins,
    InvitationsSent,
    InvitationsAccepted,
    MembersAdded,
    MembersRemoved,
    /// Calls made with the tenant's API keys.
    ApiCalls,
}

impl Metric {
    pub const ALL: [Metric; 8] = [
        Metric::ActiveUsers,
        Metric::Logins,
        Metric::FailedLogins,
        Metric::InvitationsSent,
        Metric::InvitationsAccepted,
        Metric::MembersAdded,
        Metric::MembersRemoved,
        Metric::ApiCalls,
    ];

    /// The metrics that count audit rows, each with its column in the daily roll-ups.
    pub const COUNTED: [Metric; 6] = [
        Metric::Logins,
        Metric::FailedLogins,
        Metric::InvitationsSent,
        Metric::InvitationsAccepted,
        Metric::MembersAdded,
        Metric::MembersRemoved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::ActiveUsers => "active_users",
            Metric::Logins => "logins",
            Metric::FailedLogins => "failed_logins",
            Metric::InvitationsSent => "invitations_sent",
            Metric::InvitationsAccepted => "invitations_accepted",
            Metric::MembersAdded => "members_added",
            Metric::MembersRemoved => "members_removed",
            Metric::ApiCalls => "api_calls",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Metric::ActiveUsers => "Active users",
            Metric::Logins => "Sign-ins",
            Metric::FailedLogins => "Failed sign-ins",
            Metric::InvitationsSent => "Invitations sent",
            Metric::InvitationsAccepted => "Invitations accepted",
            Metric::MembersAdded => "Members added",
            Metric::MembersRemoved => "Members removed",
            Metric::ApiCalls => "API calls",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        Self::ALL.into_iter().find(|m| m.as_str() == raw).ok_or_else(|| {
            format!("\"{raw}\" is not a valid choice. Choose one of: {}.", Self::ALL.map(Metric::as_str).join(", "))
        })
    }

    /// The audit actions each one counts (a member who joined by invitation is both an
    /// accepted invitation and a member added). Empty for the two that are not row counts.
    pub fn counted_actions(self) -> &'static [&'static str] {
        match self {
            Metric::Logins => &["login_succeeded"],
            Metric::FailedLogins => &["login_failed"],
            Metric::InvitationsSent => &["invitation_created", "invitation_resent"],
            Metric::InvitationsAccepted => &["invitation_accepted"],
            Metric::MembersAdded => &["invitation_accepted", "member_added", "user_created"],
            Metric::MembersRemoved => &["member_removed"],
            Metric::ActiveUsers | Metric::ApiCalls => &[],
        }
    }

    /// Every action some metric counts.
    pub fn all_counted_actions() -> Vec<&'static str> {
        let mut actions: Vec<&'static str> = Self::COUNTED.iter().flat_map(|m| m.counted_actions().iter().copied()).collect();
        actions.sort_unstable();
        actions.dedup();
        actions
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far back a metric looks: the last N days, today included, compared with the N days
/// before them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Days7,
    Days30,
    Days90,
}

impl Period {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim() {
            "7d" => Ok(Self::Days7),
            "30d" | "" => Ok(Self::Days30),
            "90d" => Ok(Self::Days90),
            other => Err(format!("\"{other}\" is not a valid choice. Choose 7d, 30d or 90d.")),
        }
    }

    pub fn days(self) -> i64 {
        match self {
            Self::Days7 => 7,
            Self::Days30 => 30,
            Self::Days90 => 90,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Days7 => "7d",
            Self::Days30 => "30d",
            Self::Days90 => "90d",
        }
    }
}

/// The change from `previous` to `current` in percent, one decimal; `None` when there was
/// nothing before to compare with (a rise from zero has no percentage).
pub fn change_pct(current: i64, previous: i64) -> Option<f64> {
    match (current, previous) {
        (0, 0) => Some(0.0),
        (_, 0) => None,
        _ => Some(((current - previous) as f64 * 1000.0 / previous as f64).round() / 10.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_periods_and_changes() {
        for metric in Metric::ALL {
            assert_eq!(Metric::parse(metric.as_str()), Ok(metric));
        }
        assert!(Metric::parse("logons").unwrap_err().contains("active_users"));
        assert_eq!(Period::parse("7d").map(Period::days), Ok(7));
        assert_eq!(Period::parse("90d").map(Period::days), Ok(90));
        assert_eq!(Period::parse("").map(Period::days), Ok(30));
        assert!(Period::parse("1y").is_err());
        assert_eq!(change_pct(15, 10), Some(50.0));
        assert_eq!(change_pct(5, 10), Some(-50.0));
        assert_eq!(change_pct(1, 3), Some(-66.7));
        assert_eq!(change_pct(0, 0), Some(0.0));
        assert_eq!(change_pct(4, 0), None);
        assert_eq!(Metric::all_counted_actions(), ["invitation_accepted", "invitation_created", "invitation_resent", "login_failed", "login_succeeded", "member_added", "member_removed", "user_created"]);
    }
}
