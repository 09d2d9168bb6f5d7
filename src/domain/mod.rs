//! Domain types that parse instead of validate: once you hold an `Email` it is a valid,
//! normalised address. No I/O here.

/// sqlx `Type` and `Decode` for a domain type kept in a text column on both backends: the text
/// is read with `$read` (`&str` → `Result<Self, String>`), so rows leave the store as the type.
/// With `$write` (`&Self` → `&str`) also `Encode`, so the type binds as its stored text.
macro_rules! stored_as_text {
    ($ty:ty, $read:expr, $write:expr) => {
        stored_as_text!($ty, $read);

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $ty
        where
            String: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(&self, buf: &mut <DB as sqlx::Database>::ArgumentBuffer<'q>) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                ($write)(self).to_owned().encode_by_ref(buf)
            }
        }
    };
    ($ty:ty, $read:expr) => {
        impl<DB: sqlx::Database> sqlx::Type<DB> for $ty
        where
            String: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as sqlx::Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $ty
        where
            String: sqlx::Decode<'r, DB>,
        {
            fn decode(value: <DB as sqlx::Database>::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <String as sqlx::Decode<DB>>::decode(value)?;
                Ok(($read)(text.as_str())?)
            }
        }
    };
}

mod audit_action;
mod brand;
mod contact;
mod email;
mod hostname;
mod ids;
mod metric;
mod names;
mod password;
mod permission;
mod plan;
mod platform_role;
mod role;
mod security_policy;
mod slug;
mod tenant_status;
mod token;
mod totp;
mod webhook;

pub use audit_action::{AuditAction, UnknownAction};
pub use brand::parse_color;
pub use contact::{Industry, PhoneNumber};
pub use email::Email;
pub use hostname::CustomDomain;
pub use ids::{AssignmentId, TenantId, UserId};
pub use metric::{change_pct, Metric, Period};
pub use names::{PasskeyName, PersonName, TenantName};
pub use password::{NewPassword, PlainPassword};
pub use permission::{covered, grants_from_text, grants_to_text, parse_grants, Grant, Permission};
pub use plan::{parse_limit_value, percent, Entitlements, FeatureName, FlagSource, LimitName, PlanName, Resource, STANDARD_LIMITS};
pub use platform_role::PlatformRole;
pub use role::{CustomRoleName, Role, RoleName};
pub use security_policy::{parse_network, PasswordRules, SecurityPolicy};
pub use slug::TenantSlug;
pub use tenant_status::TenantStatus;
pub use token::{ApiKeySecret, OneTimeToken};
pub use totp::TotpSecret;
pub use webhook::{EventSelection, EventType, TargetRule, WebhookSecret, WebhookUrl};

/// DRF's message for a missing field; API clients match on it.
pub const REQUIRED: &str = "This field is required.";
/// DRF's message for a present but empty string.
pub const BLANK: &str = "This field may not be blank.";
