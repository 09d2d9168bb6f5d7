use std::fmt;

use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, sqlx::Type)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }

            /// Parses a UUID string (any of the usual spellings).
            pub fn parse(raw: &str) -> Result<Self, String> {
                Uuid::parse_str(raw.trim()).map(Self).map_err(|_| "Must be a valid UUID.".to_owned())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A tenant (organisation).
    TenantId
);
id_type!(
    /// An account; one per e-mail address across all tenants.
    UserId
);
id_type!(
    /// One role held by one member of one tenant.
    AssignmentId
);
