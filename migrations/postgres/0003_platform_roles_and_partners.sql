-- Platform roles (partner admins who provision tenants) and what a partner records about the
-- tenants it creates.

ALTER TABLE users ADD COLUMN platform_role TEXT CHECK (platform_role IN ('PARTNER_ADMIN'));

ALTER TABLE tenants ADD COLUMN created_by_partner UUID REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE tenants ADD COLUMN contact_email TEXT;
ALTER TABLE tenants ADD COLUMN phone_number TEXT;
ALTER TABLE tenants ADD COLUMN industry TEXT;
CREATE INDEX tenants_partner ON tenants (created_by_partner);
