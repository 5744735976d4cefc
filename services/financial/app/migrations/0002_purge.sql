-- Posted entries stay immutable, except when core asks the module to purge a tenant's data.
-- The purge runs in one transaction that says so (`SET LOCAL buildify.purge = 'on'`); nothing
-- else can update or delete a posted entry.

CREATE OR REPLACE FUNCTION "{prefix}refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('buildify.purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'posted journal entries are immutable' USING ERRCODE = 'P0001';
END $$;
