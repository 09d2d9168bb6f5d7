-- Safe deletion (service::tenant_deletion): a deleted tenant is marked at once (status
-- 'deleted', deleted_at) and purged by the worker after TENANT_DELETION_GRACE_DAYS.
ALTER TABLE tenants ADD COLUMN deleted_at TIMESTAMPTZ;
CREATE INDEX tenants_deleted_at ON tenants (deleted_at) WHERE deleted_at IS NOT NULL;
