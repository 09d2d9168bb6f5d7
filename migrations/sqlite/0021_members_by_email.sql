-- A tenant's members are listed by e-mail (`GET /api/users/`, the users page). The e-mail was
-- on the account only, so every page joined all of the tenant's members to their accounts and
-- sorted them (1,000 members: most of a request's time). Now each membership carries its
-- member's e-mail, with an index in that order, and a page is a range scan of its own rows.
-- The database fills it in from the account (a trigger, so every writer agrees) and keeps it
-- if the account's e-mail ever changes.

ALTER TABLE memberships ADD COLUMN email TEXT NOT NULL DEFAULT '';
UPDATE memberships SET email = (SELECT u.email FROM users u WHERE u.id = memberships.user_id);
CREATE INDEX memberships_tenant_email ON memberships (tenant_id, email);

CREATE TRIGGER memberships_email AFTER INSERT ON memberships
BEGIN
    UPDATE memberships SET email = (SELECT email FROM users WHERE id = NEW.user_id)
     WHERE tenant_id = NEW.tenant_id AND user_id = NEW.user_id;
END;

CREATE TRIGGER users_email_to_memberships AFTER UPDATE OF email ON users
WHEN OLD.email IS NOT NEW.email
BEGIN
    UPDATE memberships SET email = NEW.email WHERE user_id = NEW.id;
END;
