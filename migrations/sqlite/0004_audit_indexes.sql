-- The audit log is read newest first per tenant, in pages and in keyset batches ordered by
-- (created_at DESC, id DESC); each filter (action, actor id, actor e-mail) gets an index that
-- ends in the same sort key, so a filtered page is a range scan, never a sort of the tenant.

DROP INDEX IF EXISTS audit_log_tenant_time;
CREATE INDEX audit_log_tenant_created ON audit_log (tenant_id, created_at DESC, id DESC);
CREATE INDEX audit_log_tenant_action ON audit_log (tenant_id, action, created_at DESC, id DESC);
CREATE INDEX audit_log_tenant_actor ON audit_log (tenant_id, actor_id, created_at DESC, id DESC);
CREATE INDEX audit_log_tenant_actor_email ON audit_log (tenant_id, actor_email, created_at DESC, id DESC);
