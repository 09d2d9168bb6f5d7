//! Webhooks as values: the event catalogue and what an endpoint subscribes to, an endpoint's
//! URL, which addresses a delivery may reach, and the signing secret with the Standard
//! Webhooks signature (<https://www.standardwebhooks.com/>). No I/O here.

use std::{
    collections::BTreeSet,
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// One kind of event a webhook can receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    TenantCreated,
    TenantUpdated,
    TenantSuspended,
    TenantReactivated,
    TenantDeleted,
    MemberInvited,
    MemberJoined,
    MemberRemoved,
    RoleAssigned,
    RoleRevoked,
    InvitationRevoked,
    InvitationExpired,
    QuotaThresholdReached,
    /// Sent by `POST /api/webhooks/{id}/test/` to that endpoint alone; nobody subscribes to it.
    Ping,
}

impl EventType {
    /// Every event an endpoint may subscribe to, in the documented order.
    pub const ALL: [EventType; 13] = [
        EventType::TenantCreated,
        EventType::TenantUpdated,
        EventType::TenantSuspended,
        EventType::TenantReactivated,
        EventType::TenantDeleted,
        EventType::MemberInvited,
        EventType::MemberJoined,
        EventType::MemberRemoved,
        EventType::RoleAssigned,
        EventType::RoleRevoked,
        EventType::InvitationRevoked,
        EventType::InvitationExpired,
        EventType::QuotaThresholdReached,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::TenantCreated => "tenant.created",
            EventType::TenantUpdated => "tenant.updated",
            EventType::TenantSuspended => "tenant.suspended",
            EventType::TenantReactivated => "tenant.reactivated",
            EventType::TenantDeleted => "tenant.deleted",
            EventType::MemberInvited => "member.invited",
            EventType::MemberJoined => "member.joined",
            EventType::MemberRemoved => "member.removed",
            EventType::RoleAssigned => "role.assigned",
            EventType::RoleRevoked => "role.revoked",
            EventType::InvitationRevoked => "invitation.revoked",
            EventType::InvitationExpired => "invitation.expired",
            EventType::QuotaThresholdReached => "quota.threshold_reached",
            EventType::Ping => "ping",
        }
    }

    /// What makes it happen, for the README, the API and the events picker.
    pub fn description(self) -> &'static str {
        match self {
            EventType::TenantCreated => "An organisation was created (sign-up, provisioning, import).",
            EventType::TenantUpdated => "An organisation's name, settings, branding, domain, plan or features changed.",
            EventType::TenantSuspended => "An organisation was suspended by the platform.",
            EventType::TenantReactivated => "A suspended organisation was reactivated, or a deleted one restored.",
            EventType::TenantDeleted => "An organisation was deleted.",
            EventType::MemberInvited => "Someone was invited by e-mail.",
            EventType::MemberJoined => "Someone became a member (accepted an invitation, or was added or created directly).",
            EventType::MemberRemoved => "A member was removed or left.",
            EventType::RoleAssigned => "A member was granted a role.",
            EventType::RoleRevoked => "A member lost a role.",
            EventType::InvitationRevoked => "An open invitation was revoked.",
            EventType::InvitationExpired => "An invitation expired without being accepted.",
            EventType::QuotaThresholdReached => "Usage of a quota crossed one of the organisation's alert thresholds.",
            EventType::Ping => "A test event sent on request.",
        }
    }

    /// The part before the dot (`tenant`, `member` …).
    pub fn group(self) -> &'static str {
        self.as_str().split_once('.').map_or(self.as_str(), |(group, _)| group)
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        Self::ALL.into_iter().chain([EventType::Ping]).find(|e| e.as_str() == raw)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an endpoint subscribes to: every event (`*`), or the events named, where a whole
/// group may be named with a wildcard (`member.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSelection {
    All,
    Only(BTreeSet<EventType>),
}

impl EventSelection {
    /// Parses the `events` list; every unknown entry is named in the error.
    pub fn parse<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Self, Vec<String>> {
        let mut chosen = BTreeSet::new();
        let mut all = false;
        let mut errors = Vec::new();
        let mut any = false;
        for item in items {
            any = true;
            let item = item.trim();
            if item == "*" {
                all = true;
            } else if let Some(group) = item.strip_suffix(".*") {
                let members: Vec<EventType> = EventType::ALL.into_iter().filter(|e| e.group() == group).collect();
                if members.is_empty() {
                    errors.push(format!("\"{item}\" is not an event group. Groups: {}.", groups().join(", ")));
                }
                chosen.extend(members);
            } else {
                match EventType::parse(item) {
                    Some(EventType::Ping) => errors.push("\"ping\" is sent only on request (POST …/test/); it cannot be subscribed to.".into()),
                    Some(event) => {
                        chosen.insert(event);
                    }
                    None => errors.push(format!("\"{item}\" is not a known event. See GET /api/webhooks/events/.")),
                }
            }
        }
        if !any {
            errors.push("Choose at least one event, or \"*\" for all of them.".into());
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(if all || chosen.len() == EventType::ALL.len() { Self::All } else { Self::Only(chosen) })
    }

    pub fn matches(&self, event: EventType) -> bool {
        match self {
            Self::All => event != EventType::Ping,
            Self::Only(events) => events.contains(&event),
        }
    }

    /// As stored and shown: `["*"]` or the event names in catalogue order.
    pub fn to_list(&self) -> Vec<String> {
        match self {
            Self::All => vec!["*".into()],
            Self::Only(events) => events.iter().map(|e| e.as_str().to_owned()).collect(),
        }
    }

    /// Reads what [`EventSelection::to_list`] stored; entries no longer known are dropped.
    pub fn from_stored(items: &[String]) -> Self {
        if items.iter().any(|i| i == "*") {
            return Self::All;
        }
        Self::Only(items.iter().filter_map(|i| EventType::parse(i)).filter(|e| *e != EventType::Ping).collect())
    }
}

fn groups() -> Vec<&'static str> {
    let mut groups: Vec<&'static str> = EventType::ALL.iter().map(|e| e.group()).collect();
    groups.dedup();
    groups
}

/// An endpoint's URL: `https://` (or `http://` where the operator allows it), a host, no
/// credentials, no fragment. Whether its addresses may be reached is decided at delivery time
/// too ([`TargetRule`]), since a name can change what it resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

pub const URL_MAX_LENGTH: usize = 2000;

impl WebhookUrl {
    pub fn parse(raw: &str, allow_http: bool) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(super::BLANK.into());
        }
        if raw.len() > URL_MAX_LENGTH {
            return Err(format!("Ensure this field has no more than {URL_MAX_LENGTH} characters."));
        }
        let url = url::Url::parse(raw).map_err(|_| "Enter a valid URL.".to_owned())?;
        match url.scheme() {
            "https" => {}
            "http" if allow_http => {}
            "http" => return Err("The URL must use https (plain http is allowed only when the server sets WEBHOOK_ALLOW_HTTP=1).".into()),
            _ => return Err("The URL must be an https:// address.".into()),
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("Enter a valid URL.".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("The URL may not carry a user name or password.".into());
        }
        if url.fragment().is_some() {
            return Err("The URL may not have a #fragment.".into());
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn url(&self) -> &url::Url {
        &self.0
    }

    /// The host when it is an IP address written out (`https://10.0.0.1/`), which no name
    /// lookup will vet.
    pub fn literal_ip(&self) -> Option<IpAddr> {
        match self.0.host()? {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(_) => None,
        }
    }
}

/// Which addresses a delivery may connect to. Cloud metadata services and addresses that are
/// no single host are refused always; loopback, private, link-local and shared ranges unless
/// the operator allows private targets (`WEBHOOK_ALLOW_PRIVATE=1`, for endpoints inside the
/// operator's own network).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetRule {
    pub allow_private: bool,
}

/// Cloud instance metadata endpoints (AWS, GCP, Azure, OpenStack on 169.254.169.254; AWS's
/// IPv6 one; Alibaba's). Never a webhook target, whatever the flags say.
const METADATA: [IpAddr; 3] = [
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
];

impl TargetRule {
    /// Why a delivery may not go to `ip`, or `None` when it may.
    pub fn refusal(self, ip: IpAddr) -> Option<&'static str> {
        let ip = canonical(ip);
        if METADATA.contains(&ip) {
            return Some("a cloud metadata address");
        }
        if ip.is_unspecified() || ip.is_multicast() || ip == IpAddr::V4(Ipv4Addr::BROADCAST) {
            return Some("not a single host's address");
        }
        if !self.allow_private && is_internal(ip) {
            return Some("a loopback, private or link-local address");
        }
        None
    }
}

/// An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || a == 0
                // Shared address space (carrier-grade NAT), 100.64.0.0/10.
                || (a == 100 && (64..128).contains(&b))
                // IETF protocol assignments and benchmarking ranges.
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                // Unique local fc00::/7 and link-local fe80::/10.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                // IPv4-compatible and NAT64 forms of internal IPv4 addresses.
                || (v6.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0] && is_internal(IpAddr::V4(embedded_v4(v6))))
        }
    }
}

fn embedded_v4(v6: Ipv6Addr) -> Ipv4Addr {
    let s = v6.segments();
    Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8)
}

/// An endpoint's signing secret: `whsec_` and the base64 of 32 random bytes, as the Standard
/// Webhooks specification formats it. The HMAC key is the decoded bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

impl WebhookSecret {
    pub const PREFIX: &'static str = "whsec_";

    pub fn generate() -> Self {
        let mut bytes = vec![0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn parse(text: &str) -> Option<Self> {
        let bytes = STANDARD.decode(text.trim().strip_prefix(Self::PREFIX)?).ok()?;
        (bytes.len() >= 24 && bytes.len() <= 64).then_some(Self(bytes))
    }

    pub fn to_text(&self) -> String {
        format!("{}{}", Self::PREFIX, STANDARD.encode(&self.0))
    }

    /// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`: one entry of the
    /// `Webhook-Signature` header.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_parse_names_groups_and_everything_and_name_each_bad_entry() {
        assert_eq!(EventSelection::parse(["*"]).unwrap(), EventSelection::All);
        let members = EventSelection::parse(["member.*", "role.assigned"]).unwrap();
        assert!(members.matches(EventType::MemberJoined) && members.matches(EventType::MemberRemoved) && members.matches(EventType::RoleAssigned));
        assert!(!members.matches(EventType::RoleRevoked) && !members.matches(EventType::TenantCreated));
        assert_eq!(members.to_list(), ["member.invited", "member.joined", "member.removed", "role.assigned"]);
        assert_eq!(EventSelection::from_stored(&members.to_list()), members);
        let errors = EventSelection::parse(["member.joined", "member.left", "nope.*", "ping"]).unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("member.left") && errors[1].contains("nope.*") && errors[2].contains("ping"), "{errors:?}");
        assert!(EventSelection::parse(Vec::<&str>::new()).is_err());
        assert!(!EventSelection::All.matches(EventType::Ping), "nobody subscribes to pings");
        // Every event named one by one is everything.
        assert_eq!(EventSelection::parse(EventType::ALL.map(EventType::as_str)).unwrap(), EventSelection::All);
    }

    #[test]
    fn every_event_name_parses_back() {
        for event in EventType::ALL.into_iter().chain([EventType::Ping]) {
            assert_eq!(EventType::parse(event.as_str()), Some(event));
        }
        assert_eq!(EventType::QuotaThresholdReached.group(), "quota");
    }

    #[test]
    fn urls_must_be_https_unless_allowed_and_carry_no_credentials() {
        assert_eq!(WebhookUrl::parse(" https://hooks.example.com/in?x=1 ", false).unwrap().as_str(), "https://hooks.example.com/in?x=1");
        assert!(WebhookUrl::parse("http://hooks.example.com/", false).unwrap_err().contains("WEBHOOK_ALLOW_HTTP"));
        assert!(WebhookUrl::parse("http://hooks.example.com/", true).is_ok());
        for bad in ["", "hooks.example.com", "ftp://x.example/", "file:///etc/passwd", "gopher://x/", "https://u:p@x.example/", "https://x.example/#f", "javascript:alert(1)"] {
            assert!(WebhookUrl::parse(bad, true).is_err(), "{bad}");
        }
        assert!(WebhookUrl::parse(&format!("https://x.example/{}", "a".repeat(URL_MAX_LENGTH)), false).is_err());
        assert_eq!(WebhookUrl::parse("https://10.1.2.3/x", false).unwrap().literal_ip(), Some("10.1.2.3".parse().unwrap()));
        assert_eq!(WebhookUrl::parse("https://[::1]/x", false).unwrap().literal_ip(), Some("::1".parse().unwrap()));
        assert_eq!(WebhookUrl::parse("https://x.example/", false).unwrap().literal_ip(), None);
    }

    #[test]
    fn internal_addresses_are_refused_unless_allowed_and_metadata_always() {
        let strict = TargetRule { allow_private: false };
        let lax = TargetRule { allow_private: true };
        for internal in ["127.0.0.1", "10.0.0.5", "172.16.3.4", "192.168.1.1", "169.254.10.10", "100.64.0.1", "0.0.0.1", "::1", "fd12::1", "fe80::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1"] {
            let ip: IpAddr = internal.parse().unwrap();
            assert!(strict.refusal(ip).is_some(), "{internal} must be refused");
            assert_eq!(lax.refusal(ip), None, "{internal} is allowed with WEBHOOK_ALLOW_PRIVATE");
        }
        for always in ["169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254", "100.100.100.200", "0.0.0.0", "::", "224.0.0.1", "255.255.255.255", "ff02::1"] {
            let ip: IpAddr = always.parse().unwrap();
            assert!(strict.refusal(ip).is_some() && lax.refusal(ip).is_some(), "{always} is refused whatever the flags");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "64:ff9b::808:808"] {
            assert_eq!(strict.refusal(public.parse().unwrap()), None, "{public}");
        }
    }

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signatures_match_the_standard_webhooks_reference_example() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let fresh = WebhookSecret::generate();
        assert!(fresh.to_text().starts_with("whsec_"));
        assert_eq!(WebhookSecret::parse(&fresh.to_text()), Some(fresh));
        assert_eq!(WebhookSecret::parse("whsec_c2hvcnQ="), None, "too short");
        assert_eq!(WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), None, "no prefix");
    }
}
