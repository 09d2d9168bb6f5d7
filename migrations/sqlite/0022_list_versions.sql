-- A tenant's list pages (members, role assignments, invitations, audit) are kept in each
-- process once read (service::page_cache), and served again while nothing they show has
-- changed. What says so is a number per tenant that the database raises, in the same
-- transaction, with every change to a row those pages show: a page read with version n is
-- current for as long as the version is still n, so a change still applies on the next
-- request. Account fields shown on the pages (e-mail, names, flags) belong to no one tenant:
-- a change to them raises the row of the nil tenant, which every check adds in.
-- No foreign key: a tenant being deleted still raises its number as its rows go, and a
-- leftover row holds nothing.

CREATE TABLE tenant_list_versions (
    tenant_id BLOB PRIMARY KEY NOT NULL,
    version   INTEGER NOT NULL
);

CREATE TRIGGER memberships_list_version_insert AFTER INSERT ON memberships
BEGIN
    INSERT INTO tenant_list_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = tenant_list_versions.version + 1;
END;

CREATE TRIGGER memberships_list_version_update AFTER UPDATE ON memberships
BEGIN
    INSERT INTO tenant_list_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = tenant_list_versions.version + 1;
END;

CREATE TRIGGER memberships_list_version_delete AFTER DELETE ON memberships
BEGIN
    INSERT INTO tenant_list_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = tenant_list_versions.version + 1;
END;

CREATE TRIGGER user_roles_list_version_insert AFTER INSERT ON user_roles
BEGIN
    INSERT INTO tenant_list_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = tenant_list_versions.version + 1;
END;

CREATE TRIGGER user_roles_list_version_update AFTER UPDATE ON user_roles
BEGIN
    INSERT INTO tenant_list_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = tenant_list_versions.version + 1;
END;

CREATE TRIGGER user_roles_list_version_delete AFTER DELETE ON user_roles
BEGIN
    INSERT INTO tenant_list_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = tenant_list_versions.version + 1;
END;

CREATE TRIGGER invitations_list_version_insert AFTER INSERT ON invitations
BEGIN
    INSERT INTO tenant_list_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = tenant_list_versions.version + 1;
END;

CREATE TRIGGER invitations_list_version_update AFTER UPDATE ON invitations
BEGIN
    INSERT INTO tenant_list_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = tenant_list_versions.version + 1;
END;

CREATE TRIGGER invitations_list_version_delete AFTER DELETE ON invitations
BEGIN
    INSERT INTO tenant_list_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = tenant_list_versions.version + 1;
END;

CREATE TRIGGER audit_log_list_version_insert AFTER INSERT ON audit_log WHEN NEW.tenant_id IS NOT NULL
BEGIN
    INSERT INTO tenant_list_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = tenant_list_versions.version + 1;
END;

CREATE TRIGGER audit_log_list_version_update AFTER UPDATE ON audit_log WHEN NEW.tenant_id IS NOT NULL
BEGIN
    INSERT INTO tenant_list_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = tenant_list_versions.version + 1;
END;

CREATE TRIGGER audit_log_list_version_delete AFTER DELETE ON audit_log WHEN OLD.tenant_id IS NOT NULL
BEGIN
    INSERT INTO tenant_list_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = tenant_list_versions.version + 1;
END;

-- Invitations show their tenant's name, and as revoked once it is deleted.

CREATE TRIGGER tenants_list_version AFTER UPDATE ON tenants
BEGIN
    INSERT INTO tenant_list_versions (tenant_id, version) VALUES (NEW.id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = tenant_list_versions.version + 1;
END;

CREATE TRIGGER users_list_version AFTER UPDATE ON users
WHEN OLD.email IS NOT NEW.email
  OR OLD.first_name IS NOT NEW.first_name
  OR OLD.last_name IS NOT NEW.last_name
  OR OLD.is_superuser IS NOT NEW.is_superuser
  OR OLD.is_active IS NOT NEW.is_active
  OR OLD.timezone IS NOT NEW.timezone
  OR OLD.auth_version IS NOT NEW.auth_version
  OR OLD.platform_role IS NOT NEW.platform_role
  OR OLD.created_at IS NOT NEW.created_at
BEGIN
    INSERT INTO tenant_list_versions (tenant_id, version) VALUES (X'00000000000000000000000000000000', 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = tenant_list_versions.version + 1;
END;

CREATE TRIGGER users_deleted_list_version AFTER DELETE ON users
BEGIN
    INSERT INTO tenant_list_versions (tenant_id, version) VALUES (X'00000000000000000000000000000000', 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = tenant_list_versions.version + 1;
END;
