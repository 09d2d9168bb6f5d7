-- A tenant's role assignments are listed oldest first (`GET /api/user-roles/`). Without an
-- index in that order every page sorted all of the tenant's assignments (1,000 members: a
-- millisecond a request); with it a page is a range scan of its own rows.
CREATE INDEX user_roles_tenant_created ON user_roles (tenant_id, created_at, id);
