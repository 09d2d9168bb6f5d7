-- A tenant's members are listed by e-mail (`GET /api/users/`, the users page). The e-mail was
-- on the account only, so every page joined all of the tenant's members to their accounts and
-- sorted them (1,000 members: most of a request's time). Now each membership carries its
-- member's e-mail, with an index in that order, and a page is a range scan of its own rows.
-- The database fills it in from the account (a trigger, so every writer agrees) and keeps it
-- if the account's e-mail ever changes. Byte order ("C"), as the page sorts.

ALTER TABLE memberships ADD COLUMN email TEXT NOT NULL DEFAULT '';
UPDATE memberships m SET email = u.email FROM users u WHERE u.id = m.user_id;
CREATE INDEX memberships_tenant_email ON memberships (tenant_id, email COLLATE "C");

CREATE FUNCTION tenantry_membership_email() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.email := (SELECT email FROM users WHERE id = NEW.user_id);
    RETURN NEW;
END
$$;
CREATE TRIGGER memberships_email BEFORE INSERT OR UPDATE OF user_id ON memberships
    FOR EACH ROW EXECUTE FUNCTION tenantry_membership_email();

CREATE FUNCTION tenantry_account_email_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE memberships SET email = NEW.email WHERE user_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_email_to_memberships AFTER UPDATE OF email ON users
    FOR EACH ROW WHEN (OLD.email IS DISTINCT FROM NEW.email) EXECUTE FUNCTION tenantry_account_email_moved();
