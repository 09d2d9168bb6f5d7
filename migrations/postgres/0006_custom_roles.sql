-- Custom roles per tenant. A role's grants are `resource:action` permissions or wildcards
-- (`members:*`, `*`), kept space-separated so that the caller's grants over all the roles it
-- holds come back from one aggregate on the hot path. Assignments and invitations name a role
-- by its stored name (built-in or custom), so their CHECK on the three built-in names goes.

CREATE TABLE roles (
    id           UUID PRIMARY KEY,
    tenant_id    UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    permissions  TEXT NOT NULL DEFAULT '',
    created_by   UUID REFERENCES users (id) ON DELETE SET NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
-- Names are unique per tenant case-insensitively (they are ASCII: letters, digits, _ and -).
CREATE UNIQUE INDEX roles_tenant_name ON roles (tenant_id, lower(name));
-- The caller's grants join assignments to roles by the exact stored name.
CREATE INDEX roles_tenant_exact_name ON roles (tenant_id, name);

ALTER TABLE user_roles DROP CONSTRAINT IF EXISTS user_roles_role_check;
CREATE INDEX user_roles_tenant_role ON user_roles (tenant_id, role);

ALTER TABLE invitations DROP CONSTRAINT IF EXISTS invitations_role_check;
CREATE INDEX invitations_tenant_role ON invitations (tenant_id, role);
