-- Migration 0022 kept one number per tenant, raised by a change to any row its lists show, so
-- an invitation sent made the members and role-assignment pages be read again too, though they
-- show nothing of it, and under a steady stream of invitations most reads were read afresh.
-- Now each tenant has a row in `list_stats` with, for each table whose rows its lists show, a
-- number of changes (`<table>_changes`, raised with every insert, update and delete of one of
-- its rows of that table, in the same transaction) and, for the tables listed, how many rows
-- it has (`<table>_rows`). A list's version is the sum of the changes of the tables it reads
-- (store::List says which), so a kept page stays current until something it shows changes.
-- Account fields (e-mail, names, flags) belong to no one tenant: their changes raise
-- `users_changes` in the nil tenant's row, which the lists that show accounts add in.
-- The row counts are the totals of the unfiltered lists: counting a tenant's 100,000
-- invitations or audit entries on every read of a page was most of its cost once they grew.
-- A new table, so that a process still running the old code fails to read it instead of
-- seeing numbers that started again. No foreign key (a tenant being deleted still counts its
-- rows out as they go). Row-level security (`enable-rls`, store::rls) gives it the tenants'
-- policy with the nil tenant's row let through, which every tenant reads and writes.

DROP TRIGGER memberships_list_version ON memberships;
DROP TRIGGER user_roles_list_version ON user_roles;
DROP TRIGGER invitations_list_version ON invitations;
DROP TRIGGER audit_log_list_version ON audit_log;
DROP TRIGGER tenants_list_version ON tenants;
DROP TRIGGER users_list_version ON users;
DROP TRIGGER users_deleted_list_version ON users;
DROP FUNCTION tenantry_list_changed();
DROP FUNCTION tenantry_tenant_changed();
DROP FUNCTION tenantry_account_changed();
DROP FUNCTION tenantry_raise_list_version(uuid);
DROP TABLE tenant_list_versions;

CREATE TABLE list_stats (
    tenant_id UUID PRIMARY KEY,
    memberships_changes BIGINT NOT NULL DEFAULT 0,
    memberships_rows BIGINT NOT NULL DEFAULT 0,
    user_roles_changes BIGINT NOT NULL DEFAULT 0,
    user_roles_rows BIGINT NOT NULL DEFAULT 0,
    invitations_changes BIGINT NOT NULL DEFAULT 0,
    invitations_rows BIGINT NOT NULL DEFAULT 0,
    audit_log_changes BIGINT NOT NULL DEFAULT 0,
    audit_log_rows BIGINT NOT NULL DEFAULT 0,
    tenants_changes BIGINT NOT NULL DEFAULT 0,
    users_changes BIGINT NOT NULL DEFAULT 0
);

INSERT INTO list_stats (tenant_id, memberships_rows) SELECT tenant_id, COUNT(*) FROM memberships GROUP BY tenant_id
ON CONFLICT (tenant_id) DO UPDATE SET memberships_rows = EXCLUDED.memberships_rows;
INSERT INTO list_stats (tenant_id, user_roles_rows) SELECT tenant_id, COUNT(*) FROM user_roles GROUP BY tenant_id
ON CONFLICT (tenant_id) DO UPDATE SET user_roles_rows = EXCLUDED.user_roles_rows;
INSERT INTO list_stats (tenant_id, invitations_rows) SELECT tenant_id, COUNT(*) FROM invitations GROUP BY tenant_id
ON CONFLICT (tenant_id) DO UPDATE SET invitations_rows = EXCLUDED.invitations_rows;
INSERT INTO list_stats (tenant_id, audit_log_rows) SELECT tenant_id, COUNT(*) FROM audit_log WHERE tenant_id IS NOT NULL GROUP BY tenant_id
ON CONFLICT (tenant_id) DO UPDATE SET audit_log_rows = EXCLUDED.audit_log_rows;

-- Counts a change to a row of the table `source` in the tenant's row, and `delta` more (or
-- fewer) rows of it. One static statement for every table, the other columns gaining 0, in
-- PL/pgSQL: it keeps the statement's plan for the session, where a SQL function's body is
-- planned again on every call (PostgreSQL before 18), which cost a tenth of an invitation.
CREATE FUNCTION tenantry_count_list_change(tenant uuid, source name, delta int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO list_stats AS s (tenant_id, memberships_changes, memberships_rows, user_roles_changes, user_roles_rows, invitations_changes, invitations_rows, audit_log_changes, audit_log_rows, tenants_changes, users_changes)
    VALUES (tenant, (source = 'memberships')::int, CASE WHEN source = 'memberships' THEN delta ELSE 0 END, (source = 'user_roles')::int, CASE WHEN source = 'user_roles' THEN delta ELSE 0 END, (source = 'invitations')::int, CASE WHEN source = 'invitations' THEN delta ELSE 0 END, (source = 'audit_log')::int, CASE WHEN source = 'audit_log' THEN delta ELSE 0 END, (source = 'tenants')::int, (source = 'users')::int)
    ON CONFLICT (tenant_id) DO UPDATE SET
        memberships_changes = s.memberships_changes + EXCLUDED.memberships_changes,
        memberships_rows = s.memberships_rows + EXCLUDED.memberships_rows,
        user_roles_changes = s.user_roles_changes + EXCLUDED.user_roles_changes,
        user_roles_rows = s.user_roles_rows + EXCLUDED.user_roles_rows,
        invitations_changes = s.invitations_changes + EXCLUDED.invitations_changes,
        invitations_rows = s.invitations_rows + EXCLUDED.invitations_rows,
        audit_log_changes = s.audit_log_changes + EXCLUDED.audit_log_changes,
        audit_log_rows = s.audit_log_rows + EXCLUDED.audit_log_rows,
        tenants_changes = s.tenants_changes + EXCLUDED.tenants_changes,
        users_changes = s.users_changes + EXCLUDED.users_changes;
END
$$;

-- For the tenant-owned tables, by their `tenant_id`.
CREATE FUNCTION tenantry_list_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.tenant_id IS NOT NULL THEN
            PERFORM tenantry_count_list_change(NEW.tenant_id, TG_TABLE_NAME, 1);
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        IF OLD.tenant_id IS NOT NULL THEN
            PERFORM tenantry_count_list_change(OLD.tenant_id, TG_TABLE_NAME, -1);
        END IF;
    ELSIF OLD.tenant_id IS NOT DISTINCT FROM NEW.tenant_id THEN
        IF NEW.tenant_id IS NOT NULL THEN
            PERFORM tenantry_count_list_change(NEW.tenant_id, TG_TABLE_NAME, 0);
        END IF;
    ELSE
        -- A row moved between tenants (nothing does this today): out of one, into the other.
        IF OLD.tenant_id IS NOT NULL THEN
            PERFORM tenantry_count_list_change(OLD.tenant_id, TG_TABLE_NAME, -1);
        END IF;
        IF NEW.tenant_id IS NOT NULL THEN
            PERFORM tenantry_count_list_change(NEW.tenant_id, TG_TABLE_NAME, 1);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- For the tenant itself.
CREATE FUNCTION tenantry_tenant_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tenantry_count_list_change(NEW.id, 'tenants', 0);
    RETURN NULL;
END
$$;

CREATE TRIGGER memberships_list_stats AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION tenantry_list_changed();
CREATE TRIGGER user_roles_list_stats AFTER INSERT OR UPDATE OR DELETE ON user_roles
    FOR EACH ROW EXECUTE FUNCTION tenantry_list_changed();
CREATE TRIGGER invitations_list_stats AFTER INSERT OR UPDATE OR DELETE ON invitations
    FOR EACH ROW EXECUTE FUNCTION tenantry_list_changed();
CREATE TRIGGER audit_log_list_stats AFTER INSERT OR UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION tenantry_list_changed();
-- Invitations show their tenant's name, and as revoked once it is deleted.
CREATE TRIGGER tenants_list_stats AFTER UPDATE ON tenants
    FOR EACH ROW EXECUTE FUNCTION tenantry_tenant_changed();

CREATE FUNCTION tenantry_account_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tenantry_count_list_change('00000000-0000-0000-0000-000000000000', 'users', 0);
    RETURN NULL;
END
$$;

CREATE TRIGGER users_list_stats AFTER UPDATE ON users FOR EACH ROW
    WHEN ((OLD.email, OLD.first_name, OLD.last_name, OLD.is_superuser, OLD.is_active, OLD.timezone, OLD.auth_version, OLD.platform_role, OLD.created_at)
          IS DISTINCT FROM
          (NEW.email, NEW.first_name, NEW.last_name, NEW.is_superuser, NEW.is_active, NEW.timezone, NEW.auth_version, NEW.platform_role, NEW.created_at))
    EXECUTE FUNCTION tenantry_account_changed();
CREATE TRIGGER users_deleted_list_stats AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION tenantry_account_changed();
