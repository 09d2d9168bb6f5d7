//! Plans, quotas and feature flags. A plan is a row (limits and features); a tenant has one or
//! none, and its own overrides on top. Tenantry counts `users` (members and pending
//! invitations) itself; the host application reports the rest. Every addition of a member
//! checks room inside the write transaction that adds it, after locking the tenant, so
//! concurrent invitations cannot overshoot a limit. Crossing an alert threshold upward mails
//! the tenant's admins once; dropping below re-arms it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::{now, Actor, Audit, Raw, RequestMeta, Services};
use crate::{
    domain::{AuditAction, parse_limit_value, percent, Entitlements, FeatureName, LimitName, Permission, PlanName, Resource, TenantId},
    error::is_unique_violation,
    store::{Plan, PlanRow, Tenant, Tx, Reader},
    FieldErrors, ServiceError, ServiceResult,
};

/// A tenant's plan, what it may use and what it uses.
#[derive(Debug, Clone)]
pub struct QuotaReport {
    pub plan: Option<String>,
    pub usage: BTreeMap<String, i64>,
    pub limits: BTreeMap<String, Option<i64>>,
    /// By resource, for the limits that are set.
    pub percentages: BTreeMap<String, Option<f64>>,
}

/// A tenant's feature flags, each with where it comes from.
pub type FeatureReport = BTreeMap<String, (bool, crate::domain::FlagSource)>;

/// `POST /api/plans/` (every field but `name` optional) and `PATCH /api/plans/{name}/`.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    pub name: Raw,
    pub display_name: Raw,
    pub price_monthly: Option<Value>,
    /// A JSON object of limits (`{"max_users": 10}`), as given.
    pub limits: Option<Value>,
    /// A JSON list of feature names, or an object of name → bool (changes only those).
    pub features: Option<Value>,
}

/// `POST /api/tenants/{id}/plan/`.
#[derive(Debug, Clone, Default)]
pub struct PlanChange {
    pub plan: Raw,
    /// Limit overrides replacing the tenant's (`null` values: unlimited), when given.
    pub limits: Option<Value>,
    pub force: bool,
}

/// How much of one resource a tenant uses and may use, read inside a write transaction after
/// the tenant is locked. A caller adding people one by one in that transaction (an import's
/// batch) reads it once and counts what it adds with [`Room::took`], instead of counting
/// again per row.
#[derive(Debug, Clone)]
pub(crate) struct Room {
    limit_name: LimitName,
    tenant_name: String,
    plan: Option<String>,
    /// The tenant's alert thresholds (percent).
    thresholds: Vec<i64>,
    /// `None`: unlimited.
    limit: Option<i64>,
    used: i64,
}

impl Room {
    /// Refuses (403 `quota_exceeded`) `add` more when that would go past the limit.
    pub(crate) fn fits(&self, add: i64) -> ServiceResult<()> {
        let Some(limit) = self.limit else { return Ok(()) };
        if self.used + add <= limit {
            return Ok(());
        }
        let (usage, name) = (self.used, self.limit_name.as_str());
        let plan = self.plan.as_deref().map(|p| format!("the {p} plan")).unwrap_or_else(|| "this organisation".to_owned());
        Err(ServiceError::QuotaExceeded {
            detail: format!("This organisation has reached the {name} limit of {plan} ({usage} of {limit} used). Upgrade the plan or free some up first."),
            quota: name.to_owned(),
            limit,
            usage,
        })
    }

    /// `n` more were added in the transaction this was read in.
    pub(crate) fn took(&mut self, n: i64) {
        self.used += n;
    }
}

/// Thresholds (percent of a limit) that mail a tenant's admins, unless its settings say others.
pub const DEFAULT_ALERT_THRESHOLDS: [i64; 2] = [80, 100];

fn forbidden_platform() -> ServiceError {
    ServiceError::forbidden("Only the platform (or the partner that provisioned this organisation) can change its plan and features.")
}

/// Limits from a JSON object: name → number, or `null` when `allow_null` (unlimited).
fn parse_limits(value: &Value, allow_null: bool) -> Result<BTreeMap<String, Option<i64>>, Vec<String>> {
    let Some(object) = value.as_object() else { return Err(vec!["Expected an object of limits, e.g. {\"max_users\": 10}.".into()]) };
    let (mut limits, mut errors) = (BTreeMap::new(), Vec::new());
    for (name, raw) in object {
        let name = match LimitName::parse(name) {
            Ok(name) => name,
            Err(message) => {
                errors.push(message);
                continue;
            }
        };
        if raw.is_null() && allow_null {
            limits.insert(name.as_str().to_owned(), None);
            continue;
        }
        match parse_limit_value(raw) {
            Ok(n) => {
                limits.insert(name.as_str().to_owned(), Some(n));
            }
            Err(message) => errors.push(format!("{}: {message}", name.as_str())),
        }
    }
    if errors.is_empty() { Ok(limits) } else { Err(errors) }
}

fn parse_features(value: &Value) -> Result<Vec<String>, Vec<String>> {
    let Some(items) = value.as_array() else { return Err(vec!["Expected a list of feature names.".into()]) };
    let (mut names, mut errors) = (BTreeSet::new(), Vec::new());
    for item in items {
        match item.as_str().map(FeatureName::parse) {
            Some(Ok(name)) => {
                names.insert(name.as_str().to_owned());
            }
            Some(Err(message)) => errors.push(message),
            None => errors.push("Each feature is a name (a string).".into()),
        }
    }
    if errors.is_empty() { Ok(names.into_iter().collect()) } else { Err(errors) }
}

fn collect<T>(errors: &mut FieldErrors, field: &str, parsed: Result<T, Vec<String>>) -> Option<T> {
    match parsed {
        Ok(value) => Some(value),
        Err(messages) => {
            for message in messages {
                errors.add(field, message);
            }
            None
        }
    }
}

fn parse_price(value: &Value) -> Result<Option<f64>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_f64().filter(|p| *p >= 0.0 && p.is_finite()).map(Some).ok_or_else(|| "A price is a number of 0 or more.".into()),
        _ => Err("A price is a number of 0 or more.".into()),
    }
}

impl Services {
    /// What `tenant` may use.
    pub(crate) async fn entitlements_of(&self, tx: &mut Reader, tenant: &Tenant) -> ServiceResult<Entitlements> {
        let plan = match &tenant.plan {
            Some(name) => tx.plan(name).await?,
            None => None,
        };
        let known: BTreeSet<String> = tx.known_features().await?.into_iter().collect();
        Ok(Entitlements::resolve(
            plan.as_ref().map(|p| &p.limits.0),
            plan.as_ref().map(|p| p.features.0.as_slice()),
            &tenant.limit_overrides.0,
            &tenant.feature_overrides.0,
            &known,
        ))
    }

    /// The tenant's limits, settled as [`Entitlements::resolve`] settles them, and everything
    /// it uses: two round trips after the row, as the plan's limits come with the seat count
    /// (the usage route is a hot read).
    pub(crate) async fn limits_and_usage(&self, tx: &mut Reader, row: &Tenant) -> ServiceResult<(BTreeMap<String, Option<i64>>, BTreeMap<String, i64>)> {
        let (plan_limits, seats) = match &row.plan {
            Some(name) => tx.plan_limits_and_seats(name, row.id, now()).await?,
            None => (None, tx.seats_used(row.id, now()).await?),
        };
        let limits = Entitlements::resolve(plan_limits.as_ref(), None, &row.limit_overrides.0, &BTreeMap::new(), &BTreeSet::new()).limits;
        let mut usage = tx.reported_usage(row.id).await?;
        usage.insert(Resource::USERS.to_owned(), seats);
        Ok((limits, usage))
    }

    /// Everything the tenant uses, by resource (`users` counted here, the rest as reported).
    pub(crate) async fn usage_of(&self, tx: &mut Reader, tenant: TenantId) -> ServiceResult<BTreeMap<String, i64>> {
        let mut usage = tx.reported_usage(tenant).await?;
        usage.insert(Resource::USERS.to_owned(), tx.seats_used(tenant, now()).await?);
        Ok(usage)
    }

    /// Refuses (403 `quota_exceeded`) adding `add` of `resource` when the tenant would then use
    /// more than its limit. `add = 0` refuses a tenant that is already over (accepting a pending
    /// invitation of a tenant downgraded with `force`). A read-only check: a transaction that
    /// adds locks the tenant with [`Tx::lock_tenant_row`] and asks [`Services::room_in`].
    pub(crate) async fn ensure_room(&self, tx: &mut Reader, tenant: TenantId, resource: &Resource, add: i64) -> ServiceResult<()> {
        let Some(row) = tx.tenant(tenant).await? else { return Err(ServiceError::NotFound) };
        self.room_in(tx, &row, resource).await?.fits(add)
    }

    /// What `tenant` uses of `resource` and may use, as `tx` sees it. Only the one limit is
    /// settled (not the whole entitlement), and nothing is counted when it is unlimited: a
    /// tenant without a plan or overrides pays nothing here, one whose override settles the
    /// limit skips the plan, and seats come with the plan's limits in one round trip.
    pub(crate) async fn room_in(&self, tx: &mut Reader, row: &Tenant, resource: &Resource) -> ServiceResult<Room> {
        let limit_name = resource.limit();
        let unlimited = Room { limit_name: limit_name.clone(), tenant_name: row.name.clone(), plan: row.plan.clone(), thresholds: alert_thresholds(row), limit: None, used: 0 };
        let overrides = &row.limit_overrides.0;
        // An override settles the limit without the plan; `Some(None)` is "unlimited".
        let overridden = overrides.get(limit_name.as_str()).copied();
        if matches!(overridden, Some(None)) || (overridden.is_none() && row.plan.is_none()) {
            return Ok(unlimited);
        }
        let plan_name = if overridden.is_none() { row.plan.as_deref() } else { None };
        let (limit, used) = if resource.as_str() == Resource::USERS {
            let (plan_limits, seats) = match plan_name {
                Some(name) => tx.plan_limits_and_seats(name, row.id, now()).await?,
                None => (None, tx.seats_used(row.id, now()).await?),
            };
            (Entitlements::one_limit(plan_limits.as_ref(), overrides, &limit_name), seats)
        } else {
            let plan = match plan_name {
                Some(name) => tx.plan(name).await?,
                None => None,
            };
            let limit = Entitlements::one_limit(plan.as_ref().map(|p| &p.limits.0), overrides, &limit_name);
            let used = match limit {
                Some(_) => tx.reported_usage(row.id).await?.get(resource.as_str()).copied().unwrap_or(0),
                None => 0,
            };
            (limit, used)
        };
        match limit {
            Some(limit) => Ok(Room { limit: Some(limit), used, ..unlimited }),
            None => Ok(unlimited),
        }
    }

    /// After a change of usage, in its transaction: fires the thresholds newly crossed upward
    /// (an audit row and a mail to the admins, once per crossing) and re-arms those dropped below.
    pub(crate) async fn update_alerts(&self, tx: &mut Tx, tenant: TenantId, meta: &RequestMeta) -> ServiceResult<()> {
        let Some(row) = tx.tenant(tenant).await? else { return Ok(()) };
        if row.plan.is_none() && row.limit_overrides.0.is_empty() {
            return Ok(());
        }
        let (limits, usage) = self.limits_and_usage(tx, &row).await?;
        let thresholds = alert_thresholds(&row);
        let fired: BTreeSet<(String, i64)> = tx.fired_alerts(tenant).await?.into_iter().collect();
        for (name, limit) in &limits {
            let Some(limit) = limit else { continue };
            let Ok(limit_name) = LimitName::parse(name) else { continue };
            let used = usage.get(limit_name.resource().as_str()).copied().unwrap_or(0);
            let Some(pct) = percent(used, Some(*limit)) else { continue };
            for threshold in &thresholds {
                let crossed = pct >= *threshold as f64;
                let was = fired.contains(&(name.clone(), *threshold));
                if crossed && !was && tx.fire_alert(tenant, name, *threshold, now()).await? {
                    self.announce_alert(tx, tenant, &row.name, name, *threshold, used, *limit, meta).await?;
                } else if !crossed && was {
                    tx.rearm_alert(tenant, name, *threshold).await?;
                }
            }
        }
        Ok(())
    }

    /// After `room`'s resource grew in this transaction (an invitation, a new member): fires
    /// the thresholds its usage has now reached, as [`Services::update_alerts`] would, but
    /// from what `room` already holds. Growth cannot drop below a threshold, so nothing is
    /// re-armed here; a threshold that fired already is a no-op insert.
    pub(crate) async fn alert_after_growth(&self, tx: &mut Tx, tenant: TenantId, room: &Room, meta: &RequestMeta) -> ServiceResult<()> {
        let Some(limit) = room.limit else { return Ok(()) };
        let Some(pct) = percent(room.used, Some(limit)) else { return Ok(()) };
        let name = room.limit_name.as_str();
        for threshold in room.thresholds.iter().filter(|t| pct >= **t as f64) {
            if tx.fire_alert(tenant, name, *threshold, now()).await? {
                self.announce_alert(tx, tenant, &room.tenant_name, name, *threshold, room.used, limit, meta).await?;
            }
        }
        Ok(())
    }

    /// A threshold just reached: an audit row, and a mail to each of the tenant's admins.
    #[allow(clippy::too_many_arguments)]
    async fn announce_alert(&self, tx: &mut Tx, tenant: TenantId, tenant_name: &str, quota: &str, threshold: i64, used: i64, limit: i64, meta: &RequestMeta) -> ServiceResult<()> {
        Audit { meta, actor: None, key: None }
            .write(tx, Some(tenant), AuditAction::QuotaThresholdReached, "tenant", Some(tenant.to_string()),
                json!({"quota": quota, "threshold": threshold, "usage": used, "limit": limit}))
            .await?;
        for to in tx.admin_emails(tenant).await? {
            let mut mail = crate::mail::templates::quota_alert(&to, tenant_name, quota, threshold, used, limit);
            mail.tenant_id = Some(tenant);
            self.enqueue_mail(tx, mail).await?;
        }
        Ok(())
    }

    /// The tenant a usage route names, readable by its members (with `usage:read` or the member
    /// baseline) or any superuser.
    async fn usage_tenant(&self, actor: &Actor, tenant: TenantId) -> ServiceResult<TenantId> {
        match self.tenant_where(actor, Some(tenant), Permission::UsageRead).await {
            Err(ServiceError::Forbidden(_)) => self.tenant_where(actor, Some(tenant), Permission::TenantRead).await,
            other => other,
        }
    }

    /// `GET /api/tenants/{id}/quotas/usage/`.
    #[tracing::instrument(skip_all)]
    pub async fn quota_usage(&self, actor: &Actor, tenant: TenantId) -> ServiceResult<QuotaReport> {
        let tenant = self.usage_tenant(actor, tenant).await?;
        self.quota_report(tenant).await
    }

    async fn quota_report(&self, tenant: TenantId) -> ServiceResult<QuotaReport> {
        let mut tx = self.db().read_in(tenant).await?;
        let row = tx.tenant(tenant).await?.ok_or(ServiceError::NotFound)?;
        let (limits, usage) = self.limits_and_usage(&mut tx, &row).await?;
        let mut report_usage: BTreeMap<String, i64> = limits.keys().filter_map(|l| LimitName::parse(l).ok()).map(|l| (l.resource().as_str().to_owned(), 0)).collect();
        report_usage.extend(usage);
        let percentages = report_usage
            .keys()
            .map(|resource| {
                let limit = Resource::parse(resource).ok().and_then(|r| limits.get(r.limit().as_str()).copied().flatten());
                (resource.clone(), percent(report_usage[resource], limit))
            })
            .collect();
        Ok(QuotaReport { plan: row.plan.clone(), usage: report_usage, limits, percentages })
    }

    /// `PUT /api/tenants/{id}/usage/`: the host application sets its counters; `usage:write`
    /// (ADMIN, a key with that scope) or a superuser. `users` is Tenantry's own count.
    #[tracing::instrument(skip_all)]
    pub async fn set_usage(&self, actor: &Actor, tenant: TenantId, counters: &Map<String, Value>, meta: &RequestMeta) -> ServiceResult<QuotaReport> {
        let tenant_id = self.tenant_where(actor, Some(tenant), Permission::UsageWrite).await?;
        let mut errors = FieldErrors::new();
        let mut values = Vec::new();
        for (name, value) in counters {
            match Resource::parse(name) {
                Ok(resource) if resource.as_str() == Resource::USERS => errors.add(name, "Tenantry counts users itself (members and pending invitations)."),
                Ok(resource) => match parse_limit_value(value) {
                    Ok(n) => values.push((resource, n)),
                    Err(_) => errors.add(name, "A usage counter is a whole number of 0 or more."),
                },
                Err(message) => errors.add(name, message),
            }
        }
        if counters.is_empty() {
            errors.add("detail", "Give at least one counter, e.g. {\"assets\": 120}.");
        }
        errors.into_result()?;
        let mut tx = self.db().write_in(tenant_id).await?;
        tx.lock_tenant(tenant_id).await?;
        let at = now();
        for (resource, amount) in &values {
            tx.set_usage(tenant_id, resource.as_str(), *amount, at).await?;
        }
        actor
            .audit(meta)
            .write(&mut tx, Some(tenant_id), AuditAction::UsageReported, "tenant", Some(tenant_id.to_string()),
                Value::Object(values.iter().map(|(r, n)| (r.as_str().to_owned(), json!(n))).collect()))
            .await?;
        self.update_alerts(&mut tx, tenant_id, meta).await?;
        tx.commit().await?;
        self.wake_mailer();
        self.quota_report(tenant_id).await
    }

    /// `POST /api/tenants/{id}/usage/check/`: whether `add` more of `resource` fits (403
    /// `quota_exceeded` when it does not), so the host can enforce limits through Tenantry.
    #[tracing::instrument(skip_all)]
    pub async fn check_usage(&self, actor: &Actor, tenant: TenantId, resource: Raw, add: Option<&Value>) -> ServiceResult<(String, i64, Option<i64>)> {
        let tenant = self.usage_tenant(actor, tenant).await?;
        let mut errors = FieldErrors::new();
        let resource = resource.required(&mut errors, "resource", Resource::parse);
        let add = match add {
            None | Some(Value::Null) => Some(1),
            Some(value) => errors.check("add", parse_limit_value(value).map_err(|_| "A whole number of 0 or more.".to_owned())),
        };
        errors.into_result()?;
        let (resource, add) = (resource.unwrap(), add.unwrap());
        let mut tx = self.db().read_in(tenant).await?;
        self.ensure_room(&mut tx, tenant, &resource, add).await?;
        let row = tx.tenant(tenant).await?.ok_or(ServiceError::NotFound)?;
        let limit = self.entitlements_of(&mut tx, &row).await?.limit(&resource.limit());
        let usage = self.usage_of(&mut tx, tenant).await?.get(resource.as_str()).copied().unwrap_or(0);
        Ok((resource.as_str().to_owned(), usage, limit))
    }

    /// Whether the caller may change the plan and features of `tenant`: a superuser, or the
    /// partner that provisioned it.
    pub(crate) async fn plan_manager(&self, actor: &Actor, tenant: TenantId) -> ServiceResult<Tenant> {
        let row = self.db().read().await?.tenant(tenant).await?;
        let may = |t: &Tenant| actor.is_superuser || (actor.platform_role().is_some() && t.created_by_partner == Some(actor.user_id));
        match row {
            Some(t) if may(&t) => Ok(t),
            // A tenant the caller cannot even see is not found; one they belong to but may not
            // change is forbidden.
            Some(_) if actor.tenant_id == Some(tenant) => Err(forbidden_platform()),
            _ => Err(ServiceError::NotFound),
        }
    }

    /// `POST /api/tenants/{id}/plan/`: a new plan (or none) and limit overrides. A plan whose
    /// limits are below what the tenant uses is 409 listing each exceeded quota, unless
    /// `force`: then everything stays and new additions are refused.
    #[tracing::instrument(skip_all)]
    pub async fn change_plan(&self, actor: &Actor, tenant: TenantId, change: PlanChange, meta: &RequestMeta) -> ServiceResult<(Tenant, Entitlements)> {
        self.plan_manager(actor, tenant).await?;
        let mut errors = FieldErrors::new();
        let plan = change.plan.optional(&mut errors, "plan", |raw| if raw.trim().is_empty() { Ok(None) } else { PlanName::parse(raw).map(Some) }).flatten().flatten();
        let limits = match &change.limits {
            None | Some(Value::Null) => None,
            Some(value) => collect(&mut errors, "limits", parse_limits(value, true)),
        };
        if change.plan == Raw::Missing {
            errors.add("plan", crate::domain::REQUIRED);
        }
        errors.into_result()?;
        let mut tx = self.db().write_in(tenant).await?;
        tx.lock_tenant(tenant).await?;
        let before = tx.tenant(tenant).await?.ok_or(ServiceError::NotFound)?;
        if let Some(name) = &plan {
            if tx.plan(name.as_str()).await?.is_none() {
                return Err(ServiceError::field("plan", format!("There is no plan \"{}\". See GET /api/plans/.", name.as_str())));
            }
        }
        let overrides = limits.unwrap_or_else(|| before.limit_overrides.0.clone());
        let old = self.entitlements_of(&mut tx, &before).await?;
        let mut after = before.clone();
        after.plan = plan.as_ref().map(|p| p.as_str().to_owned());
        after.limit_overrides.0 = overrides.clone();
        let new = self.entitlements_of(&mut tx, &after).await?;
        let usage = self.usage_of(&mut tx, tenant).await?;
        let exceeded: Vec<(String, i64, i64)> = new
            .limits
            .iter()
            .filter_map(|(name, limit)| {
                let limit = (*limit)?;
                let used = usage.get(LimitName::parse(name).ok()?.resource().as_str()).copied().unwrap_or(0);
                (used > limit).then(|| (name.clone(), limit, used))
            })
            .collect();
        if !exceeded.is_empty() && !change.force {
            let mut fields = FieldErrors::new();
            for (name, limit, used) in &exceeded {
                fields.add(name, format!("{used} in use, the new limit is {limit}."));
            }
            let list = exceeded.iter().map(|(n, l, u)| format!("{n} ({u} used, limit {l})")).collect::<Vec<_>>().join(", ");
            return Err(ServiceError::Conflict { detail: format!("The organisation uses more than the new plan allows: {list}. Pass \"force\": true to change it anyway."), fields });
        }
        tx.set_tenant_plan(tenant, after.plan.as_deref(), &overrides, now()).await?;
        actor
            .audit(meta)
            .write(&mut tx, Some(tenant), AuditAction::PlanChanged, "tenant", Some(tenant.to_string()),
                json!({"from": {"plan": before.plan, "limits": old.limits}, "to": {"plan": after.plan, "limits": new.limits},
                       "forced": !exceeded.is_empty()}))
            .await?;
        self.update_alerts(&mut tx, tenant, meta).await?;
        let updated = tx.tenant(tenant).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        self.wake_mailer();
        Ok((updated, new))
    }

    /// `PATCH /api/tenants/{id}/features/`: `{name: true|false|null}` (null removes the
    /// override); the effective flags come back.
    #[tracing::instrument(skip_all)]
    pub async fn set_features(&self, actor: &Actor, tenant: TenantId, changes: &Map<String, Value>, meta: &RequestMeta) -> ServiceResult<FeatureReport> {
        self.plan_manager(actor, tenant).await?;
        let mut errors = FieldErrors::new();
        let mut parsed = Vec::new();
        for (name, value) in changes {
            match (FeatureName::parse(name), value) {
                (Err(message), _) => errors.add(name, message),
                (Ok(feature), Value::Bool(on)) => parsed.push((feature, Some(*on))),
                (Ok(feature), Value::Null) => parsed.push((feature, None)),
                (Ok(_), _) => errors.add(name, "Must be true, false, or null (to follow the plan again)."),
            }
        }
        errors.into_result()?;
        let mut tx = self.db().write_in(tenant).await?;
        let row = tx.tenant(tenant).await?.ok_or(ServiceError::NotFound)?;
        let mut overrides = row.feature_overrides.0.clone();
        for (feature, on) in &parsed {
            match on {
                Some(on) => overrides.insert(feature.as_str().to_owned(), *on),
                None => overrides.remove(feature.as_str()),
            };
        }
        tx.set_feature_overrides(tenant, &overrides, now()).await?;
        actor
            .audit(meta)
            .write(&mut tx, Some(tenant), AuditAction::FeaturesChanged, "tenant", Some(tenant.to_string()),
                Value::Object(parsed.iter().map(|(f, on)| (f.as_str().to_owned(), json!(on))).collect()))
            .await?;
        let updated = tx.tenant(tenant).await?.ok_or(ServiceError::NotFound)?;
        let features = self.entitlements_of(&mut tx, &updated).await?.features;
        tx.commit().await?;
        Ok(features)
    }

    /// `GET /api/tenants/{id}/features/`: members.
    #[tracing::instrument(skip_all)]
    pub async fn tenant_features(&self, actor: &Actor, tenant: TenantId) -> ServiceResult<FeatureReport> {
        let tenant = self.usage_tenant(actor, tenant).await?;
        let mut tx = self.db().read_in(tenant).await?;
        let row = tx.tenant(tenant).await?.ok_or(ServiceError::NotFound)?;
        Ok(self.entitlements_of(&mut tx, &row).await?.features)
    }

    /// Whether the tenant has a feature (settings and branding ask).
    pub(crate) async fn has_feature(&self, tx: &mut Reader, tenant: &Tenant, feature: &str) -> ServiceResult<bool> {
        Ok(self.entitlements_of(tx, tenant).await?.has(feature))
    }

    /// `GET /api/plans/`: anyone signed in.
    pub async fn list_plans(&self, _actor: &Actor) -> ServiceResult<Vec<Plan>> {
        Ok(self.db().read().await?.plans().await?)
    }

    /// `POST /api/plans/` (superusers; the CLI passes `None`).
    #[tracing::instrument(skip_all)]
    pub async fn create_plan(&self, actor: Option<&Actor>, input: PlanInput) -> ServiceResult<Plan> {
        require_platform(actor)?;
        let mut errors = FieldErrors::new();
        let name = input.name.required(&mut errors, "name", PlanName::parse);
        let display = input.display_name.optional(&mut errors, "display_name", |raw| Ok(raw.trim().to_owned())).flatten();
        let price = match &input.price_monthly {
            None => None,
            Some(value) => errors.check("price_monthly", parse_price(value)).flatten(),
        };
        let limits = match &input.limits {
            None => Some(BTreeMap::new()),
            Some(value) => collect(&mut errors, "limits", parse_limits(value, false)).map(|l| l.into_iter().filter_map(|(k, v)| Some((k, v?))).collect()),
        };
        let features = match &input.features {
            None => Some(Vec::new()),
            // `{name: true}` (the CLI's --feature name=on) means the same list.
            Some(Value::Object(switches)) => {
                let on: Vec<Value> = switches.iter().filter(|(_, v)| v.as_bool() == Some(true)).map(|(k, _)| Value::String(k.clone())).collect();
                collect(&mut errors, "features", parse_features(&Value::Array(on)))
            }
            Some(value) => collect(&mut errors, "features", parse_features(value)),
        };
        errors.into_result()?;
        let (name, limits, features) = (name.unwrap(), limits.unwrap(), features.unwrap());
        let display = display.filter(|d| !d.is_empty()).unwrap_or_else(|| name.as_str().to_owned());
        let mut tx = self.db().write().await?;
        let row = PlanRow { name: name.as_str(), display_name: &display, price_monthly: price, limits: &limits, features: &features };
        tx.insert_plan(row, now()).await.map_err(|e| if is_unique_violation(&e) { ServiceError::conflict("name", "A plan with this name exists.") } else { e.into() })?;
        let plan = tx.plan(name.as_str()).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(plan)
    }

    /// `PATCH /api/plans/{name}/` and the CLI's `plan set`: the fields given change; `limits`
    /// merges (a `null` removes a limit), `features` as a list replaces, as an object of
    /// name → bool switches those. With `create`, a missing plan is made.
    #[tracing::instrument(skip_all)]
    pub async fn update_plan(&self, actor: Option<&Actor>, name: &str, input: PlanInput, create: bool) -> ServiceResult<Plan> {
        require_platform(actor)?;
        let name = PlanName::parse(name).map_err(|m| ServiceError::field("name", m))?;
        let mut tx = self.db().write().await?;
        let existing = tx.plan(name.as_str()).await?;
        let existing = match existing {
            Some(plan) => plan,
            None if create => {
                drop(tx);
                return self.create_plan(actor, PlanInput { name: Raw::text(name.as_str()), ..input }).await;
            }
            None => return Err(ServiceError::NotFound),
        };
        let mut errors = FieldErrors::new();
        let display = input.display_name.optional(&mut errors, "display_name", |raw| Ok(raw.trim().to_owned())).flatten();
        let price = match &input.price_monthly {
            None => Some(existing.price_monthly),
            Some(value) => errors.check("price_monthly", parse_price(value)),
        };
        let mut limits = existing.limits.0.clone();
        if let Some(value) = &input.limits {
            if let Some(changes) = collect(&mut errors, "limits", parse_limits(value, true)) {
                for (limit, n) in changes {
                    match n {
                        Some(n) => limits.insert(limit, n),
                        None => limits.remove(&limit),
                    };
                }
            }
        }
        let mut features = existing.features.0.clone();
        match &input.features {
            None => {}
            Some(Value::Object(switches)) => {
                for (feature, on) in switches {
                    match (FeatureName::parse(feature), on.as_bool()) {
                        (Ok(f), Some(true)) => features.push(f.as_str().to_owned()),
                        (Ok(f), Some(false)) => features.retain(|x| x != f.as_str()),
                        (Err(m), _) => errors.add("features", m),
                        (_, None) => errors.add("features", format!("{feature}: must be true or false.")),
                    }
                }
                features.sort();
                features.dedup();
            }
            Some(value) => {
                if let Some(list) = collect(&mut errors, "features", parse_features(value)) {
                    features = list;
                }
            }
        }
        errors.into_result()?;
        let display = display.filter(|d| !d.is_empty()).unwrap_or(existing.display_name.clone());
        let row = PlanRow { name: name.as_str(), display_name: &display, price_monthly: price.flatten(), limits: &limits, features: &features };
        tx.update_plan(row, now()).await?;
        let plan = tx.plan(name.as_str()).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(plan)
    }

    /// The daily API-call quota of a key's tenant (`max_api_calls_per_day`, when set): counts
    /// this call and refuses (429 until midnight UTC) past the limit.
    pub(crate) async fn count_api_call(&self, tenant: TenantId, limit: i64) -> ServiceResult<()> {
        let at = now();
        let day = at.format("%Y-%m-%d").to_string();
        let mut tx = self.db().write_in(tenant).await?;
        let calls = tx.count_api_call(tenant, &day).await?;
        tx.commit().await?;
        if calls > limit {
            let midnight = (at + chrono::Duration::days(1)).date_naive().and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or(at);
            let retry = (midnight - at).num_seconds().max(1) as u64;
            return Err(ServiceError::DailyQuotaExceeded {
                detail: format!("This organisation has used its {limit} API calls for today (UTC). Try again after midnight UTC, or raise max_api_calls_per_day."),
                quota: "max_api_calls_per_day".into(),
                limit,
                retry_after_secs: retry,
            });
        }
        Ok(())
    }
}

/// The percentages of a limit that alert the tenant's admins: its settings', else the defaults.
fn alert_thresholds(row: &Tenant) -> Vec<i64> {
    row.settings
        .0
        .get("quota_alert_thresholds")
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_else(|| DEFAULT_ALERT_THRESHOLDS.to_vec())
}

fn require_platform(actor: Option<&Actor>) -> ServiceResult<()> {
    match actor {
        None => Ok(()),
        Some(actor) if actor.is_superuser => Ok(()),
        Some(_) => Err(ServiceError::forbidden("Only platform administrators manage plans.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_price_is_a_finite_number_of_zero_or_more_or_null() {
        assert_eq!(parse_price(&json!(null)), Ok(None));
        assert_eq!(parse_price(&json!(0)), Ok(Some(0.0)));
        assert_eq!(parse_price(&json!(29.5)), Ok(Some(29.5)));
        for bad in [json!(-0.01), json!(-29), json!("29"), json!(true), json!([29])] {
            assert!(parse_price(&bad).is_err(), "{bad}");
        }
    }
}
