-- Refresh tokens (issue 11, finding 7): access tokens live minutes; a refresh token, stored here as a
-- SHA-256 hash only, gets a new one with companies and roles read again from the database. Each is used
-- once and replaced by the next of its family; presenting a used one revokes the whole family (theft).
CREATE TABLE IF NOT EXISTS refresh_tokens (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    family uuid NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS refresh_tokens_user_idx ON refresh_tokens (user_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_family_idx ON refresh_tokens (family);

-- Whatever changes the row (an endpoint, an operator's SQL), a deactivated user or one removed from a
-- company keeps no refresh token: the next sign-in reads the memberships again.
CREATE OR REPLACE FUNCTION revoke_refresh_tokens() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = OLD.user_id AND revoked_at IS NULL;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION revoke_refresh_tokens_of_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = OLD.id AND revoked_at IS NULL;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS refresh_tokens_on_membership_removed ON user_company_roles;
CREATE TRIGGER refresh_tokens_on_membership_removed AFTER DELETE ON user_company_roles
    FOR EACH ROW EXECUTE FUNCTION revoke_refresh_tokens();

DROP TRIGGER IF EXISTS refresh_tokens_on_user_deactivated ON users;
CREATE TRIGGER refresh_tokens_on_user_deactivated AFTER UPDATE OF is_active, tenant_id, is_tenant_admin ON users
    FOR EACH ROW WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active AND NOT NEW.is_active
                       OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id
                       OR OLD.is_tenant_admin AND NOT NEW.is_tenant_admin)
    EXECUTE FUNCTION revoke_refresh_tokens_of_user();
