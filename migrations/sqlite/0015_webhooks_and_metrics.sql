-- Events out (issue 13): webhook endpoints, the events a change writes in its own
-- transaction, one delivery per event and endpoint, and the daily roll-ups behind the
-- tenant metrics.

-- An endpoint. tenant_id NULL: a platform endpoint (superusers), which receives the tenant.*
-- events of every tenant. The signing secrets are sealed with a key derived from SECRET_KEY;
-- after a rotation the previous one signs too until previous_secret_expires_at.
-- next_attempt_at: when the oldest pending delivery is due (NULL: nothing pending);
-- locked_until: the lease of the worker sending to it (one at a time, in event order).
CREATE TABLE webhooks (
    id                          BLOB PRIMARY KEY NOT NULL,
    tenant_id                   BLOB REFERENCES tenants (id) ON DELETE CASCADE,
    url                         TEXT NOT NULL,
    description                 TEXT NOT NULL DEFAULT '',
    events                      TEXT NOT NULL,
    active                      BOOLEAN NOT NULL DEFAULT 1,
    secret                      TEXT NOT NULL,
    previous_secret             TEXT,
    previous_secret_expires_at  TEXT,
    created_by                  BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at                  TEXT NOT NULL,
    updated_at                  TEXT NOT NULL,
    next_attempt_at             TEXT,
    locked_until                TEXT,
    disabled_at                 TEXT,
    disabled_reason             TEXT
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id, created_at);
CREATE INDEX webhooks_due ON webhooks (next_attempt_at) WHERE next_attempt_at IS NOT NULL;

-- An event, written by the change that caused it; the worker fans it out to the endpoints
-- subscribed to it (fanned_out) and deletes it once no delivery needs it. seq orders events;
-- payload is the JSON body every delivery of it sends, byte for byte.
-- No foreign key on tenant_id: tenant.deleted outlives its tenant.
CREATE TABLE webhook_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          BLOB NOT NULL UNIQUE,
    tenant_id   BLOB,
    type        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    fanned_out  BOOLEAN NOT NULL DEFAULT 0
);
CREATE INDEX webhook_events_unfanned ON webhook_events (seq) WHERE NOT fanned_out;

-- One event to one endpoint. attempt_log: the last attempts as JSON
-- ([{"at", "status", "duration_ms", "error"}]), never a response body.
CREATE TABLE webhook_deliveries (
    id                BLOB PRIMARY KEY NOT NULL,
    webhook_id        BLOB NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    tenant_id         BLOB,
    event_seq         BIGINT NOT NULL,
    event_id          BLOB NOT NULL,
    event_type        TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    attempt_log       TEXT NOT NULL DEFAULT '[]',
    last_status       INTEGER,
    last_error        TEXT,
    last_duration_ms  INTEGER,
    created_at        TEXT NOT NULL,
    first_attempt_at  TEXT,
    completed_at      TEXT
);
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (webhook_id, event_seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_listed ON webhook_deliveries (webhook_id, created_at DESC, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_seq);

-- The worker notices expired invitations once (invitation.expired); those that expired
-- before this migration are not announced.
ALTER TABLE invitations ADD COLUMN expiry_noticed_at TEXT;
UPDATE invitations SET expiry_noticed_at = expires_at
 WHERE accepted_at IS NULL AND revoked_at IS NULL AND expires_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now');
CREATE INDEX invitations_expiry_unnoticed ON invitations (expires_at)
 WHERE accepted_at IS NULL AND revoked_at IS NULL AND expiry_noticed_at IS NULL;

-- Tenant metrics: past days rolled up by the worker from the audit trail (so they outlive
-- audit retention and no request scans a period of raw rows); the current day is counted live.
CREATE TABLE tenant_metrics_daily (
    tenant_id             BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day                   TEXT NOT NULL,
    logins                BIGINT NOT NULL DEFAULT 0,
    failed_logins         BIGINT NOT NULL DEFAULT 0,
    invitations_sent      BIGINT NOT NULL DEFAULT 0,
    invitations_accepted  BIGINT NOT NULL DEFAULT 0,
    members_added         BIGINT NOT NULL DEFAULT 0,
    members_removed       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day)
);
CREATE INDEX tenant_metrics_daily_day ON tenant_metrics_daily (day);
-- Who was active on a day: a period's active users are the distinct people over its days.
CREATE TABLE tenant_active_users_daily (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day        TEXT NOT NULL,
    user_id    BLOB NOT NULL,
    PRIMARY KEY (tenant_id, day, user_id)
);
CREATE INDEX tenant_active_users_daily_day ON tenant_active_users_daily (day);
-- The last day rolled up for every tenant (one row).
CREATE TABLE metrics_rollup_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    rolled_through  TEXT NOT NULL
);
-- The roll-up reads one day of the whole trail at a time.
CREATE INDEX IF NOT EXISTS audit_log_created ON audit_log (created_at);
