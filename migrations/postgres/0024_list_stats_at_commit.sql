-- The list_stats counters (migration 0023) are raised at commit instead of with each row.
-- A tenant's row of list_stats is one row that every change in the tenant updates. As plain
-- triggers, the first write of a transaction locked it, and it stayed locked until the commit,
-- through every statement after that one and the round trips between them: two sign-ins, role
-- changes or API calls writing audit rows in one tenant ran their ends one after the other.
-- (Invitations wait for each other anyway: each locks its tenant's row while it counts seats.)
-- As deferred constraint triggers, the same functions run when the transaction commits, so
-- the lock is held for the commit alone. The counts and versions are what they were: the
-- triggers see every row change (a deferred trigger reads the row version it was queued for,
-- even one the transaction changed again), and other sessions see the new numbers with the
-- rows, at the commit, as before. Nothing reads list_stats inside a writing transaction.
DROP TRIGGER memberships_list_stats ON memberships;
DROP TRIGGER user_roles_list_stats ON user_roles;
DROP TRIGGER invitations_list_stats ON invitations;
DROP TRIGGER audit_log_list_stats ON audit_log;
DROP TRIGGER tenants_list_stats ON tenants;
DROP TRIGGER users_list_stats ON users;
DROP TRIGGER users_deleted_list_stats ON users;
CREATE CONSTRAINT TRIGGER memberships_list_stats AFTER INSERT OR UPDATE OR DELETE ON memberships
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tenantry_list_changed();
CREATE CONSTRAINT TRIGGER user_roles_list_stats AFTER INSERT OR UPDATE OR DELETE ON user_roles
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tenantry_list_changed();
CREATE CONSTRAINT TRIGGER invitations_list_stats AFTER INSERT OR UPDATE OR DELETE ON invitations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tenantry_list_changed();
CREATE CONSTRAINT TRIGGER audit_log_list_stats AFTER INSERT OR UPDATE OR DELETE ON audit_log
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tenantry_list_changed();
CREATE CONSTRAINT TRIGGER tenants_list_stats AFTER UPDATE ON tenants
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tenantry_tenant_changed();
CREATE CONSTRAINT TRIGGER users_list_stats AFTER UPDATE ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.email, OLD.first_name, OLD.last_name, OLD.is_superuser, OLD.is_active, OLD.timezone, OLD.auth_version, OLD.platform_role, OLD.created_at)
          IS DISTINCT FROM
          (NEW.email, NEW.first_name, NEW.last_name, NEW.is_superuser, NEW.is_active, NEW.timezone, NEW.auth_version, NEW.platform_role, NEW.created_at))
    EXECUTE FUNCTION tenantry_account_changed();
CREATE CONSTRAINT TRIGGER users_deleted_list_stats AFTER DELETE ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tenantry_account_changed();
