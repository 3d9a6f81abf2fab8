-- patkit pgstore migration 0016: a zone's greatest expiry is its tokens'
-- greatest, without the hour of slack of 0015.
--
-- An expiry is midnight UTC of its date, and a zone held its greatest
-- plus an hour: a list of the tokens expiring after a time up to an hour
-- past midnight (now plus 180 days, run at 00:46 UTC) met every zone
-- whose tokens expire on that date and not after. In benchtable's dataset,
-- whose thousand tokens in use, one every thousand IDs, expire 180 days
-- from its creation, that was every zone (977, against 247 whose tokens
-- do expire after), and the walks of the list from the zones' seek read
-- the whole order before its first match: 7.7 to 23.8 ms a page instead
-- of under 2. The slack spares a write of the zone where a token's key
-- is within the hour of its greatest; expiries, a day apart, never were.
--
-- The trigger's function is written again with the exact expiry, and each
-- zone's greatest expiry computed from its tokens (977 zones at 1,000,000
-- tokens, each a range of IDs). Every statement may run again.
--
-- Run it with search_path set to the schema, in one transaction
-- (Migrate and MigrationSQL do).

-- The writes of tokens wait from here until the migration commits: a
-- token written meanwhile, which the computation below would not see,
-- may have found its zone's old greatest expiry wide enough, and would
-- then lie beyond the new one.
LOCK TABLE tokens IN SHARE ROW EXCLUSIVE MODE;

CREATE OR REPLACE FUNCTION token_zones_trigger() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM 1 FROM token_zones AS z
    WHERE z.zone = NEW.id >> 10
      AND NEW.created_at BETWEEN z.created_lo AND z.created_hi
      AND coalesce(NEW.expires_at, 'infinity') >= z.expires_lo
      AND (NEW.expires_at IS NULL AND z.expires_never OR NEW.expires_at <= z.expires_hi)
      AND coalesce(NEW.last_used_at, 'infinity') >= z.used_lo
      AND (NEW.last_used_at IS NULL AND z.used_never OR NEW.last_used_at <= z.used_hi);
    IF NOT FOUND THEN
        PERFORM token_zones_widen(ROW(NEW.id >> 10, NEW.created_at, NEW.created_at + interval '1 hour',
            coalesce(NEW.expires_at, 'infinity'), NEW.expires_at, NEW.expires_at IS NULL,
            coalesce(NEW.last_used_at, 'infinity'), NEW.last_used_at + interval '1 hour', NEW.last_used_at IS NULL)::token_zones);
    END IF;
    RETURN NULL;
END;
$$;

UPDATE token_zones AS z SET expires_hi = (SELECT max(expires_at) FROM tokens
    WHERE id BETWEEN z.zone << 10 AND ((z.zone + 1) << 10) - 1);
