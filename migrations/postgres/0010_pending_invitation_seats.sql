-- A tenant's seats are its members plus its pending invitations (service::quotas), counted on
-- every invitation, import row and usage read. Two rules make that a plain count over one
-- index instead of a per-invitation search of the members:
--   * at most one pending invitation per address and tenant (a new one already replaced the
--     old; the unique index below now says so), and
--   * no pending invitation for someone who is already a member (adding a member closes
--     their pending invitation: Tx::insert_membership).
-- Rows from before either rule are closed here, keeping the newest invitation of an address.

UPDATE invitations SET revoked_at = now(), updated_at = now()
 WHERE accepted_at IS NULL AND revoked_at IS NULL
   AND EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
                WHERE m.tenant_id = invitations.tenant_id AND u.email = invitations.email);

UPDATE invitations SET revoked_at = now(), updated_at = now()
 WHERE accepted_at IS NULL AND revoked_at IS NULL
   AND EXISTS (SELECT 1 FROM invitations newer
                WHERE newer.tenant_id = invitations.tenant_id AND newer.email = invitations.email
                  AND newer.accepted_at IS NULL AND newer.revoked_at IS NULL
                  AND (newer.created_at > invitations.created_at
                       OR (newer.created_at = invitations.created_at AND newer.id > invitations.id)));

CREATE UNIQUE INDEX invitations_one_open_per_email ON invitations (tenant_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX invitations_open_by_expiry ON invitations (tenant_id, expires_at)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
