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
-- rows out as they go).

DROP TRIGGER memberships_list_version_insert;
DROP TRIGGER memberships_list_version_update;
DROP TRIGGER memberships_list_version_delete;
DROP TRIGGER user_roles_list_version_insert;
DROP TRIGGER user_roles_list_version_update;
DROP TRIGGER user_roles_list_version_delete;
DROP TRIGGER invitations_list_version_insert;
DROP TRIGGER invitations_list_version_update;
DROP TRIGGER invitations_list_version_delete;
DROP TRIGGER audit_log_list_version_insert;
DROP TRIGGER audit_log_list_version_update;
DROP TRIGGER audit_log_list_version_delete;
DROP TRIGGER tenants_list_version;
DROP TRIGGER users_list_version;
DROP TRIGGER users_deleted_list_version;
DROP TABLE tenant_list_versions;

CREATE TABLE list_stats (
    tenant_id BLOB PRIMARY KEY NOT NULL,
    memberships_changes INTEGER NOT NULL DEFAULT 0,
    memberships_rows INTEGER NOT NULL DEFAULT 0,
    user_roles_changes INTEGER NOT NULL DEFAULT 0,
    user_roles_rows INTEGER NOT NULL DEFAULT 0,
    invitations_changes INTEGER NOT NULL DEFAULT 0,
    invitations_rows INTEGER NOT NULL DEFAULT 0,
    audit_log_changes INTEGER NOT NULL DEFAULT 0,
    audit_log_rows INTEGER NOT NULL DEFAULT 0,
    tenants_changes INTEGER NOT NULL DEFAULT 0,
    users_changes INTEGER NOT NULL DEFAULT 0
);

INSERT INTO list_stats (tenant_id, memberships_rows) SELECT tenant_id, COUNT(*) FROM memberships WHERE TRUE GROUP BY tenant_id
ON CONFLICT (tenant_id) DO UPDATE SET memberships_rows = excluded.memberships_rows;
INSERT INTO list_stats (tenant_id, user_roles_rows) SELECT tenant_id, COUNT(*) FROM user_roles WHERE TRUE GROUP BY tenant_id
ON CONFLICT (tenant_id) DO UPDATE SET user_roles_rows = excluded.user_roles_rows;
INSERT INTO list_stats (tenant_id, invitations_rows) SELECT tenant_id, COUNT(*) FROM invitations WHERE TRUE GROUP BY tenant_id
ON CONFLICT (tenant_id) DO UPDATE SET invitations_rows = excluded.invitations_rows;
INSERT INTO list_stats (tenant_id, audit_log_rows) SELECT tenant_id, COUNT(*) FROM audit_log WHERE tenant_id IS NOT NULL GROUP BY tenant_id
ON CONFLICT (tenant_id) DO UPDATE SET audit_log_rows = excluded.audit_log_rows;

CREATE TRIGGER memberships_list_stats_insert AFTER INSERT ON memberships
BEGIN
    INSERT INTO list_stats (tenant_id, memberships_changes, memberships_rows) VALUES (NEW.tenant_id, 1, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET memberships_changes = list_stats.memberships_changes + 1, memberships_rows = list_stats.memberships_rows + 1;
END;

CREATE TRIGGER memberships_list_stats_update AFTER UPDATE ON memberships
BEGIN
    INSERT INTO list_stats (tenant_id, memberships_changes) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET memberships_changes = list_stats.memberships_changes + 1;
END;

CREATE TRIGGER memberships_list_stats_delete AFTER DELETE ON memberships
BEGIN
    INSERT INTO list_stats (tenant_id, memberships_changes, memberships_rows) VALUES (OLD.tenant_id, 1, -1)
    ON CONFLICT (tenant_id) DO UPDATE SET memberships_changes = list_stats.memberships_changes + 1, memberships_rows = list_stats.memberships_rows - 1;
END;

CREATE TRIGGER user_roles_list_stats_insert AFTER INSERT ON user_roles
BEGIN
    INSERT INTO list_stats (tenant_id, user_roles_changes, user_roles_rows) VALUES (NEW.tenant_id, 1, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET user_roles_changes = list_stats.user_roles_changes + 1, user_roles_rows = list_stats.user_roles_rows + 1;
END;

CREATE TRIGGER user_roles_list_stats_update AFTER UPDATE ON user_roles
BEGIN
    INSERT INTO list_stats (tenant_id, user_roles_changes) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET user_roles_changes = list_stats.user_roles_changes + 1;
END;

CREATE TRIGGER user_roles_list_stats_delete AFTER DELETE ON user_roles
BEGIN
    INSERT INTO list_stats (tenant_id, user_roles_changes, user_roles_rows) VALUES (OLD.tenant_id, 1, -1)
    ON CONFLICT (tenant_id) DO UPDATE SET user_roles_changes = list_stats.user_roles_changes + 1, user_roles_rows = list_stats.user_roles_rows - 1;
END;

CREATE TRIGGER invitations_list_stats_insert AFTER INSERT ON invitations
BEGIN
    INSERT INTO list_stats (tenant_id, invitations_changes, invitations_rows) VALUES (NEW.tenant_id, 1, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET invitations_changes = list_stats.invitations_changes + 1, invitations_rows = list_stats.invitations_rows + 1;
END;

CREATE TRIGGER invitations_list_stats_update AFTER UPDATE ON invitations
BEGIN
    INSERT INTO list_stats (tenant_id, invitations_changes) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET invitations_changes = list_stats.invitations_changes + 1;
END;

CREATE TRIGGER invitations_list_stats_delete AFTER DELETE ON invitations
BEGIN
    INSERT INTO list_stats (tenant_id, invitations_changes, invitations_rows) VALUES (OLD.tenant_id, 1, -1)
    ON CONFLICT (tenant_id) DO UPDATE SET invitations_changes = list_stats.invitations_changes + 1, invitations_rows = list_stats.invitations_rows - 1;
END;

CREATE TRIGGER audit_log_list_stats_insert AFTER INSERT ON audit_log WHEN NEW.tenant_id IS NOT NULL
BEGIN
    INSERT INTO list_stats (tenant_id, audit_log_changes, audit_log_rows) VALUES (NEW.tenant_id, 1, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET audit_log_changes = list_stats.audit_log_changes + 1, audit_log_rows = list_stats.audit_log_rows + 1;
END;

CREATE TRIGGER audit_log_list_stats_update AFTER UPDATE ON audit_log WHEN NEW.tenant_id IS NOT NULL
BEGIN
    INSERT INTO list_stats (tenant_id, audit_log_changes) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET audit_log_changes = list_stats.audit_log_changes + 1;
END;

CREATE TRIGGER audit_log_list_stats_delete AFTER DELETE ON audit_log WHEN OLD.tenant_id IS NOT NULL
BEGIN
    INSERT INTO list_stats (tenant_id, audit_log_changes, audit_log_rows) VALUES (OLD.tenant_id, 1, -1)
    ON CONFLICT (tenant_id) DO UPDATE SET audit_log_changes = list_stats.audit_log_changes + 1, audit_log_rows = list_stats.audit_log_rows - 1;
END;

-- Invitations show their tenant's name, and as revoked once it is deleted.

CREATE TRIGGER tenants_list_stats AFTER UPDATE ON tenants
BEGIN
    INSERT INTO list_stats (tenant_id, tenants_changes) VALUES (NEW.id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET tenants_changes = list_stats.tenants_changes + 1;
END;

CREATE TRIGGER users_list_stats AFTER UPDATE ON users
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
    INSERT INTO list_stats (tenant_id, users_changes) VALUES (X'00000000000000000000000000000000', 1)
    ON CONFLICT (tenant_id) DO UPDATE SET users_changes = list_stats.users_changes + 1;
END;

CREATE TRIGGER users_deleted_list_stats AFTER DELETE ON users
BEGIN
    INSERT INTO list_stats (tenant_id, users_changes) VALUES (X'00000000000000000000000000000000', 1)
    ON CONFLICT (tenant_id) DO UPDATE SET users_changes = list_stats.users_changes + 1;
END;
