-- A tenant's seats are its members plus its pending invitations (service::quotas), counted
-- while the tenant is locked, on every quota-checked invitation, new member and usage read.
-- Counting the pending invitations cost time in proportion to their number, so a tenant with
-- many of them invited slower. Now the database keeps the number of open invitations whose
-- expiry has not been noticed (accepted_at, revoked_at and expiry_noticed_at all null) per
-- tenant, in the same transaction as every change to them; a seat count reads it and
-- subtracts the few that have expired since the worker last looked (store::plans).

CREATE TABLE tenant_invitation_counts (
    tenant_id BLOB PRIMARY KEY NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    open_invitations INTEGER NOT NULL
);

INSERT INTO tenant_invitation_counts (tenant_id, open_invitations)
SELECT tenant_id, COUNT(*) FROM invitations
 WHERE accepted_at IS NULL AND revoked_at IS NULL AND expiry_noticed_at IS NULL
 GROUP BY tenant_id;

-- The ones a seat count subtracts: open, unnoticed, and (by then) expired, per tenant.
CREATE INDEX invitations_unnoticed_by_tenant ON invitations (tenant_id, expires_at)
    WHERE accepted_at IS NULL AND revoked_at IS NULL AND expiry_noticed_at IS NULL;

CREATE TRIGGER invitations_count_open_insert AFTER INSERT ON invitations
WHEN NEW.accepted_at IS NULL AND NEW.revoked_at IS NULL AND NEW.expiry_noticed_at IS NULL
BEGIN
    INSERT INTO tenant_invitation_counts (tenant_id, open_invitations) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET open_invitations = tenant_invitation_counts.open_invitations + 1;
END;

CREATE TRIGGER invitations_count_open_update AFTER UPDATE OF accepted_at, revoked_at, expiry_noticed_at ON invitations
WHEN (OLD.accepted_at IS NULL AND OLD.revoked_at IS NULL AND OLD.expiry_noticed_at IS NULL)
  <> (NEW.accepted_at IS NULL AND NEW.revoked_at IS NULL AND NEW.expiry_noticed_at IS NULL)
BEGIN
    INSERT INTO tenant_invitation_counts (tenant_id, open_invitations)
    SELECT NEW.tenant_id, 1 WHERE NEW.accepted_at IS NULL AND NEW.revoked_at IS NULL AND NEW.expiry_noticed_at IS NULL
    ON CONFLICT (tenant_id) DO UPDATE SET open_invitations = tenant_invitation_counts.open_invitations + 1;
    UPDATE tenant_invitation_counts SET open_invitations = open_invitations - 1
     WHERE tenant_id = OLD.tenant_id AND OLD.accepted_at IS NULL AND OLD.revoked_at IS NULL AND OLD.expiry_noticed_at IS NULL;
END;

CREATE TRIGGER invitations_count_open_delete AFTER DELETE ON invitations
WHEN OLD.accepted_at IS NULL AND OLD.revoked_at IS NULL AND OLD.expiry_noticed_at IS NULL
BEGIN
    UPDATE tenant_invitation_counts SET open_invitations = open_invitations - 1 WHERE tenant_id = OLD.tenant_id;
END;
