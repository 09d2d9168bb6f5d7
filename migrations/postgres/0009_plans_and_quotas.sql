-- Plans, per-tenant overrides, usage counters and quota alerts; tenant settings and branding.
-- A plan is a row: its limits are a JSON object of named limits (`{"max_users": 10}`; any
-- `max_*` name an operator wants) and its features a JSON array of names. A tenant's
-- overrides sit on top (limits: name → number or null for unlimited; features: name → bool).
-- The old `tenants.plan` placeholder ('free') is no longer read: `plan_name` is the plan,
-- NULL for none (no limits).

CREATE TABLE plans (
    name           TEXT PRIMARY KEY NOT NULL,
    display_name   TEXT NOT NULL,
    price_monthly  DOUBLE PRECISION,
    limits         TEXT NOT NULL DEFAULT '{}',
    features       TEXT NOT NULL DEFAULT '[]',
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

INSERT INTO plans (name, display_name, price_monthly, limits, features, created_at, updated_at) VALUES
  ('basic', 'Basic', 29,
   '{"max_users": 10, "max_assets": 100, "max_devices": 5, "storage_quota_gb": 10}',
   '["basic_dashboard", "standard_support"]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
  ('professional', 'Professional', 99,
   '{"max_users": 50, "max_assets": 500, "max_devices": 25, "storage_quota_gb": 100}',
   '["advanced_dashboard", "analytics", "api_access", "priority_support"]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
  ('enterprise', 'Enterprise', 299,
   '{"max_users": 200, "max_assets": 2000, "max_devices": 100, "storage_quota_gb": 500}',
   '["full_dashboard", "advanced_analytics", "api_access", "custom_branding", "sso_integration", "dedicated_support"]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);

ALTER TABLE tenants ADD COLUMN plan_name TEXT REFERENCES plans (name) ON UPDATE CASCADE;
ALTER TABLE tenants ADD COLUMN limit_overrides TEXT NOT NULL DEFAULT '{}';
ALTER TABLE tenants ADD COLUMN feature_overrides TEXT NOT NULL DEFAULT '{}';
ALTER TABLE tenants ADD COLUMN display_name TEXT;
ALTER TABLE tenants ADD COLUMN description TEXT;
ALTER TABLE tenants ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE tenants ADD COLUMN branding TEXT;
ALTER TABLE tenants ADD COLUMN custom_domain TEXT;
CREATE UNIQUE INDEX tenants_custom_domain ON tenants (custom_domain) WHERE custom_domain IS NOT NULL;
CREATE INDEX tenants_plan ON tenants (plan_name);

-- What the host application reports (assets, devices, storage_gb, …); Tenantry counts its own
-- (users: members and pending invitations) when asked.
CREATE TABLE tenant_usage (
    tenant_id   UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    resource    TEXT NOT NULL,
    amount      BIGINT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, resource)
);

-- A threshold crossed upward (and not yet dropped below again): mailed once per crossing.
CREATE TABLE quota_alerts (
    tenant_id   UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    quota       TEXT NOT NULL,
    threshold   BIGINT NOT NULL,
    fired_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, quota, threshold)
);

-- Calls made with API keys per tenant per UTC day (the max_api_calls_per_day limit).
CREATE TABLE api_call_counts (
    tenant_id  UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day        TEXT NOT NULL,
    calls      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, day)
);
