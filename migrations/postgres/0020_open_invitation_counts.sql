-- A tenant's seats are its members plus its pending invitations (service::quotas), counted
-- while the tenant's row is locked, on every quota-checked invitation, new member and usage
-- read. Counting the pending invitations cost time in proportion to their number (about a
-- millisecond per 10,000) with the lock held, so a tenant with many of them invited slower.
-- Now the database keeps the number of open invitations whose expiry has not been noticed
-- (accepted_at, revoked_at and expiry_noticed_at all null) per tenant, in the same transaction
-- as every change to them; a seat count reads it and subtracts the few that have expired since
-- the worker last looked (store::plans).

CREATE TABLE tenant_invitation_counts (
    tenant_id UUID PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    open_invitations BIGINT NOT NULL
);

INSERT INTO tenant_invitation_counts (tenant_id, open_invitations)
SELECT tenant_id, COUNT(*) FROM invitations
 WHERE accepted_at IS NULL AND revoked_at IS NULL AND expiry_noticed_at IS NULL
 GROUP BY tenant_id;

-- The ones a seat count subtracts: open, unnoticed, and (by then) expired, per tenant.
CREATE INDEX invitations_unnoticed_by_tenant ON invitations (tenant_id, expires_at)
    WHERE accepted_at IS NULL AND revoked_at IS NULL AND expiry_noticed_at IS NULL;

CREATE FUNCTION tenantry_count_open_invitations() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_open boolean := false;
    is_open  boolean := false;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        was_open := OLD.accepted_at IS NULL AND OLD.revoked_at IS NULL AND OLD.expiry_noticed_at IS NULL;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        is_open := NEW.accepted_at IS NULL AND NEW.revoked_at IS NULL AND NEW.expiry_noticed_at IS NULL;
    END IF;
    IF is_open AND NOT was_open THEN
        INSERT INTO tenant_invitation_counts AS c (tenant_id, open_invitations) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET open_invitations = c.open_invitations + 1;
    ELSIF was_open AND NOT is_open THEN
        -- A tenant being deleted may have lost its row already: nothing to count then.
        UPDATE tenant_invitation_counts SET open_invitations = open_invitations - 1 WHERE tenant_id = OLD.tenant_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER invitations_count_open AFTER INSERT OR DELETE OR UPDATE OF accepted_at, revoked_at, expiry_noticed_at
    ON invitations FOR EACH ROW EXECUTE FUNCTION tenantry_count_open_invitations();
