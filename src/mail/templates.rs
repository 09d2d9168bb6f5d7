//! The messages Tenantry sends, as text and HTML. Every value that comes from a user is
//! HTML-escaped in the HTML body.

use crate::store::NewEmail;

/// HTML-escapes user text (and the link, which the outbox puts back at send time).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// How a mail shows the organisation it speaks for: its custom branding (checked when saved,
/// and checked again here, since this is where it meets HTML: only an `https:` logo and a
/// `#rrggbb` colour get in, and the name is escaped like any user text).
#[derive(Debug, Clone, Copy, Default)]
pub struct MailBrand<'a> {
    pub company_name: Option<&'a str>,
    pub logo_url: Option<&'a str>,
    pub primary_color: Option<&'a str>,
}

impl<'a> MailBrand<'a> {
    fn color(&self) -> Option<String> {
        self.primary_color.and_then(|c| crate::domain::parse_color(c).ok())
    }

    fn logo(&self) -> Option<&'a str> {
        self.logo_url.filter(|url| url.starts_with("https://") && !url.chars().any(|c| c.is_whitespace() || c.is_control()))
    }

    fn name(&self) -> Option<&'a str> {
        self.company_name.map(str::trim).filter(|n| !n.is_empty())
    }
}

fn html_page(brand: Option<&MailBrand<'_>>, heading: &str, paragraphs: &[String], link: &str, button: &str, footer: &str) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>")).collect();
    let color = brand.and_then(MailBrand::color).unwrap_or_else(|| "#1f4e79".to_owned());
    let logo = brand
        .and_then(MailBrand::logo)
        .map(|src| format!("<p><img src=\"{}\" alt=\"{}\" style=\"max-height:48px\"></p>", escape(src), escape(brand.and_then(MailBrand::name).unwrap_or(""))))
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html><html><body style=\"font-family:system-ui,sans-serif;color:#1b2430;max-width:560px;margin:auto;padding:24px\">\
         {logo}<h1 style=\"font-size:20px\">{heading}</h1>{body}\
         <p><a href=\"{link}\" style=\"display:inline-block;background:{color};color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none\">{button}</a></p>\
         <p style=\"color:#5b6675;font-size:13px\">Or paste this link into your browser:<br>{link}</p>\
         <p style=\"color:#5b6675;font-size:13px\">{footer}</p></body></html>",
        link = escape(link),
    )
}

pub struct Invitation<'a> {
    pub to: &'a str,
    pub tenant_name: &'a str,
    pub inviter: Option<&'a str>,
    pub role: Option<&'a str>,
    pub link: &'a str,
    pub expires_in_days: i64,
    /// The organisation's branding, when its plan gives it `custom_branding`.
    pub brand: Option<MailBrand<'a>>,
}

pub fn invitation(invite: &Invitation<'_>) -> NewEmail {
    let who = invite.inviter.unwrap_or("An administrator");
    let role = invite.role.map(|r| format!(" as {r}")).unwrap_or_default();
    // A branded organisation speaks under its company name; otherwise the mail names Tenantry.
    let (name, on) = match invite.brand.as_ref().and_then(MailBrand::name) {
        Some(company) => (company, String::new()),
        None => (invite.tenant_name, " on Tenantry".to_owned()),
    };
    let subject = format!("You're invited to join {name}{on}");
    let text_body = format!(
        "{who} invited you to join {name}{role}{on}.\n\n\
         Accept the invitation: {link}\n\n\
         The link works once and expires in {days} days. If you did not expect this, ignore this message.\n",
        link = invite.link,
        days = invite.expires_in_days,
    );
    let html_body = html_page(
        invite.brand.as_ref(),
        &format!("Join {}", escape(name)),
        &[format!("{} invited you to join <strong>{}</strong>{}{}.", escape(who), escape(name), escape(&role), on)],
        invite.link,
        "Accept the invitation",
        &format!("The link works once and expires in {} days. If you did not expect this, ignore this message.", invite.expires_in_days),
    );
    NewEmail { tenant_id: None, kind: "invitation", to: invite.to.to_owned(), subject, text_body, html_body, link: Some(invite.link.to_owned()) }
}

/// `brand`: the branding of the organisation the account belongs to, when it is the only one.
pub fn password_reset(to: &str, link: &str, expires_in_minutes: i64, brand: Option<&MailBrand<'_>>) -> NewEmail {
    let name = brand.and_then(MailBrand::name).unwrap_or("Tenantry");
    let subject = format!("Reset your {name} password");
    let text_body = format!(
        "Someone (hopefully you) asked to reset the password of {to} on {name}.\n\n\
         Choose a new password: {link}\n\n\
         The link works once and expires in {expires_in_minutes} minutes. If you did not ask, ignore this message: your password stays as it is.\n"
    );
    let html_body = html_page(
        brand,
        "Reset your password",
        &[format!("Someone (hopefully you) asked to reset the password of <strong>{}</strong> on {}.", escape(to), escape(name))],
        link,
        "Choose a new password",
        &format!("The link works once and expires in {expires_in_minutes} minutes. If you did not ask, ignore this message: your password stays as it is."),
    );
    NewEmail { tenant_id: None, kind: "password_reset", to: to.to_owned(), subject, text_body, html_body, link: Some(link.to_owned()) }
}

/// To an address an account was just made for by someone else (an admin, or whoever
/// accepted an invitation with a link the admin also saw): the owner can take it over.
pub fn account_created(to: &str, how: &str, link: &str, expires_in_days: i64) -> NewEmail {
    let subject = "A Tenantry account was created for this address".to_owned();
    let text_body = format!(
        "A Tenantry account for {to} was created {how}.\n\n\
         If that was you, there is nothing to do. If not, or if someone else chose its password, take the account over: \
         choose a new password here: {link}\n\n\
         That ends the password that was set and signs every session out. The link works once and expires in {expires_in_days} days.\n"
    );
    let html_body = html_page(
        None,
        "An account was created for you",
        &[
            format!("A Tenantry account for <strong>{}</strong> was created {}.", escape(to), escape(how)),
            "If that was you, there is nothing to do. If not, or if someone else chose its password, take the account over by choosing a new password.".to_owned(),
        ],
        link,
        "Take over the account",
        &format!("A new password ends the one that was set and signs every session out. The link works once and expires in {expires_in_days} days."),
    );
    NewEmail { tenant_id: None, kind: "account_created", to: to.to_owned(), subject, text_body, html_body, link: Some(link.to_owned()) }
}

/// To an existing account that just joined another organisation.
pub fn joined_tenant(to: &str, tenant_name: &str, role: Option<&str>) -> NewEmail {
    let role = role.map(|r| format!(" as {r}")).unwrap_or_default();
    let subject = format!("Your Tenantry account joined {tenant_name}");
    let text_body = format!(
        "Your Tenantry account {to} is now a member of {tenant_name}{role}: an invitation was accepted with its password.\n\n\
         If that was not you, someone knows your password: reset it at once with \"Forgot your password?\" on the sign-in page.\n"
    );
    let html_body = format!(
        "<!DOCTYPE html><html><body style=\"font-family:system-ui,sans-serif;color:#1b2430;max-width:560px;margin:auto;padding:24px\">\
         <h1 style=\"font-size:20px\">You joined {tenant}</h1>\
         <p>Your Tenantry account <strong>{to}</strong> is now a member of <strong>{tenant}</strong>{role}: an invitation was accepted with its password.</p>\
         <p>If that was not you, someone knows your password: reset it at once with \u{201c}Forgot your password?\u{201d} on the sign-in page.</p></body></html>",
        tenant = escape(tenant_name),
        to = escape(to),
        role = escape(&role),
    );
    NewEmail { tenant_id: None, kind: "joined_tenant", to: to.to_owned(), subject, text_body, html_body, link: None }
}

/// To a tenant's admins: a quota crossed one of its alert thresholds.
pub fn quota_alert(to: &str, tenant_name: &str, quota: &str, threshold: i64, usage: i64, limit: i64) -> NewEmail {
    let subject = format!("{tenant_name} has used {threshold}% of its {quota}");
    let text_body = format!(
        "{tenant_name} now uses {usage} of {limit} ({quota}), past the {threshold}% alert threshold.\n\n\
         At the limit, new additions are refused until the plan is raised or some are freed.\n"
    );
    let html_body = format!(
        "<!DOCTYPE html><html><body style=\"font-family:system-ui,sans-serif;color:#1b2430;max-width:560px;margin:auto;padding:24px\">\
         <h1 style=\"font-size:20px\">{tenant} has used {threshold}% of its {quota}</h1>\
         <p><strong>{tenant}</strong> now uses {usage} of {limit} ({quota}), past the {threshold}% alert threshold.</p>\
         <p>At the limit, new additions are refused until the plan is raised or some are freed.</p></body></html>",
        tenant = escape(tenant_name),
        quota = escape(quota),
    );
    NewEmail { tenant_id: None, kind: "quota_alert", to: to.to_owned(), subject, text_body, html_body, link: None }
}

/// To a tenant's admins (or a platform endpoint's owner): an endpoint kept failing and was
/// switched off.
pub fn webhook_disabled(to: &str, owner: &str, url: &str, failing_since: &str, last_error: &str) -> NewEmail {
    let subject = format!("A webhook of {owner} was disabled after repeated failures");
    let text_body = format!(
        "Deliveries to the webhook endpoint {url} of {owner} have failed since {failing_since} (last: {last_error}), so Tenantry \
         switched it off: it gets no events now. Fix the endpoint, then switch it on again on the Webhooks page \
         (or PATCH /api/webhooks/{{id}}/ with \"active\": true): the deliveries that were waiting go out in order. The one that \
         failed can be sent again with Retry.\n"
    );
    let html_body = format!(
        "<!DOCTYPE html><html><body style=\"font-family:system-ui,sans-serif;color:#1b2430;max-width:560px;margin:auto;padding:24px\">\
         <h1 style=\"font-size:20px\">A webhook of {owner_html} was disabled</h1>\
         <p>Deliveries to <code>{url_html}</code> have failed since {since} (last: {error}), so Tenantry switched it off.</p>\
         <p>It gets no events now. Fix the endpoint, then switch it on again on the Webhooks page: the deliveries that were waiting go out in order. \
         The one that failed can be sent again with Retry.</p></body></html>",
        owner_html = escape(owner),
        url_html = escape(url),
        since = escape(failing_since),
        error = escape(last_error),
    );
    NewEmail { tenant_id: None, kind: "webhook_disabled", to: to.to_owned(), subject, text_body, html_body, link: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_escaped_in_html_and_the_link_is_in_both_bodies() {
        let email = invitation(&Invitation {
            to: "x@y.com",
            tenant_name: "<script>alert(1)</script>",
            inviter: Some("Ada & Co"),
            role: Some("VIEWER"),
            link: "http://h/invite?token=abc",
            expires_in_days: 7,
            brand: None,
        });
        assert!(!email.html_body.contains("<script>"));
        assert!(email.html_body.contains("Ada &amp; Co"));
        assert!(email.text_body.contains("http://h/invite?token=abc"));
        assert!(email.html_body.contains("http://h/invite?token=abc"));
        assert_eq!(email.link.as_deref(), Some("http://h/invite?token=abc"));
        assert!(email.subject.ends_with("on Tenantry"));
    }

    #[test]
    fn a_brand_names_the_company_and_colours_the_button_but_cannot_inject_markup_or_css() {
        let brand = MailBrand { company_name: Some("Acme <b>Ltd</b>"), logo_url: Some("https://cdn.acme.test/logo.png?a=1&b=\"2"), primary_color: Some("#0a7e3d") };
        let email = invitation(&Invitation { to: "x@y.com", tenant_name: "acme", inviter: None, role: None, link: "http://h/invite?token=abc", expires_in_days: 7, brand: Some(brand) });
        assert_eq!(email.subject, "You're invited to join Acme <b>Ltd</b>", "subjects are plain text");
        assert!(email.html_body.contains("Acme &lt;b&gt;Ltd&lt;/b&gt;") && !email.html_body.contains("<b>"));
        assert!(email.html_body.contains("background:#0a7e3d"));
        assert!(email.html_body.contains("src=\"https://cdn.acme.test/logo.png?a=1&amp;b=&quot;2\""));
        assert!(!email.text_body.contains("Tenantry"));
        let hostile = MailBrand { company_name: None, logo_url: Some("javascript:alert(1)"), primary_color: Some("red;background:url(https://evil.test/x)") };
        let reset = password_reset("x@y.com", "http://h/password-reset?token=abc", 60, Some(&hostile));
        assert!(!reset.html_body.contains("javascript:") && !reset.html_body.contains("evil.test") && !reset.html_body.contains("<img"));
        assert!(reset.html_body.contains("background:#1f4e79"), "an invalid colour falls back to ours");
        assert_eq!(reset.subject, "Reset your Tenantry password");
        let branded = password_reset("x@y.com", "http://h/password-reset?token=abc", 60, Some(&brand));
        assert_eq!(branded.subject, "Reset your Acme <b>Ltd</b> password");
    }
}
