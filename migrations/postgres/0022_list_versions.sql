-- A tenant's list pages (members, role assignments, invitations, audit) are kept in each
-- process once read (service::page_cache), and served again while nothing they show has
-- changed. What says so is a number per tenant that the database raises, in the same
-- transaction, with every change to a row those pages show: a page read with version n is
-- current for as long as the version is still n, on every replica, so a change still applies
-- on the next request. Account fields shown on the pages (e-mail, names, flags) belong to no
-- one tenant: a change to them raises the row of the nil tenant, which every check adds in.
-- No foreign key: a tenant being deleted still raises its number as its rows go, and a
-- leftover row holds nothing. No row-level security either: the numbers reveal nothing.

CREATE TABLE tenant_list_versions (
    tenant_id UUID PRIMARY KEY,
    version   BIGINT NOT NULL
);

CREATE FUNCTION tenantry_raise_list_version(tenant uuid) RETURNS void LANGUAGE sql AS $$
    INSERT INTO tenant_list_versions AS v (tenant_id, version) VALUES (tenant, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
$$;

-- For the tenant-owned tables, by their `tenant_id`.
CREATE FUNCTION tenantry_list_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' AND NEW.tenant_id IS NOT NULL THEN
        PERFORM tenantry_raise_list_version(NEW.tenant_id);
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.tenant_id IS NOT NULL
       AND (TG_OP = 'DELETE' OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id) THEN
        PERFORM tenantry_raise_list_version(OLD.tenant_id);
    END IF;
    RETURN NULL;
END
$$;

-- For the tenant itself.
CREATE FUNCTION tenantry_tenant_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tenantry_raise_list_version(NEW.id);
    RETURN NULL;
END
$$;

CREATE TRIGGER memberships_list_version AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION tenantry_list_changed();
CREATE TRIGGER user_roles_list_version AFTER INSERT OR UPDATE OR DELETE ON user_roles
    FOR EACH ROW EXECUTE FUNCTION tenantry_list_changed();
CREATE TRIGGER invitations_list_version AFTER INSERT OR UPDATE OR DELETE ON invitations
    FOR EACH ROW EXECUTE FUNCTION tenantry_list_changed();
CREATE TRIGGER audit_log_list_version AFTER INSERT OR UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION tenantry_list_changed();
-- Invitations show their tenant's name, and as revoked once it is deleted.
CREATE TRIGGER tenants_list_version AFTER UPDATE ON tenants
    FOR EACH ROW EXECUTE FUNCTION tenantry_tenant_changed();

CREATE FUNCTION tenantry_account_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tenantry_raise_list_version('00000000-0000-0000-0000-000000000000');
    RETURN NULL;
END
$$;

CREATE TRIGGER users_list_version AFTER UPDATE ON users FOR EACH ROW
    WHEN ((OLD.email, OLD.first_name, OLD.last_name, OLD.is_superuser, OLD.is_active, OLD.timezone, OLD.auth_version, OLD.platform_role, OLD.created_at)
          IS DISTINCT FROM
          (NEW.email, NEW.first_name, NEW.last_name, NEW.is_superuser, NEW.is_active, NEW.timezone, NEW.auth_version, NEW.platform_role, NEW.created_at))
    EXECUTE FUNCTION tenantry_account_changed();
CREATE TRIGGER users_deleted_list_version AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION tenantry_account_changed();
