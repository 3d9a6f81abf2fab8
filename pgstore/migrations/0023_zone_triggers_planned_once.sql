-- patkit pgstore migration 0023: the zones' triggers (0016, 0017) widen a
-- zone with a statement of their own, which PL/pgSQL plans once per
-- connection, instead of calling a function of LANGUAGE sql.
--
-- PostgreSQL 15 plans the statement of a LANGUAGE sql function that it
-- cannot inline (an INSERT ... ON CONFLICT, and a function with a SET
-- clause, is never inlined) again at every call from PL/pgSQL: each
-- PERFORM builds its expression anew, and with it the function's cache.
-- Every write that widens its zone paid that planning. The Store's
-- writes seldom widen one: a zone's first token, once per 1,024 IDs; a
-- creation or a use more than an hour past its zone's latest; an expiry
-- on a later date than its zone's (the Service's expiries are dates). A
-- host's own writes of times to the second widen at nearly every row: a
-- loop of 2,000 such creates that each commit (synchronous_commit off,
-- one connection, a schema of 90,000 tokens, PostgreSQL 15 on a 2-core
-- AMD EPYC) took 0.32 to 0.41 ms of server time a create, every trigger
-- on, and 0.24 to 0.33 ms with this migration's (three rounds in turns).
-- The widening is the same statement, with the same bounds as 0016's
-- and 0017's: a zone's created_hi and used_hi an hour past its latest,
-- its expires_hi its latest expiry, its name_lo its least name.
--
-- token_zones_widen and token_zone_names_widen, which nothing calls any
-- longer, are dropped; 0015 and 0017 create them again for their own
-- counts when every migration runs again, and this one drops them after.
--
-- Run it with search_path set to the schema, in one transaction, after
-- 0017.

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
        INSERT INTO token_zones AS t (zone, created_lo, created_hi, expires_lo, expires_hi, expires_never,
            used_lo, used_hi, used_never)
        VALUES (NEW.id >> 10, NEW.created_at, NEW.created_at + interval '1 hour',
            coalesce(NEW.expires_at, 'infinity'), NEW.expires_at, NEW.expires_at IS NULL,
            coalesce(NEW.last_used_at, 'infinity'), NEW.last_used_at + interval '1 hour', NEW.last_used_at IS NULL)
        ON CONFLICT (zone) DO UPDATE SET
            created_lo = least(t.created_lo, excluded.created_lo), created_hi = greatest(t.created_hi, excluded.created_hi),
            expires_lo = least(t.expires_lo, excluded.expires_lo), expires_hi = greatest(t.expires_hi, excluded.expires_hi),
            expires_never = t.expires_never OR excluded.expires_never,
            used_lo = least(t.used_lo, excluded.used_lo), used_hi = greatest(t.used_hi, excluded.used_hi),
            used_never = t.used_never OR excluded.used_never;
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION token_zone_names_trigger() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM 1 FROM token_zone_names AS n WHERE n.zone = NEW.id >> 10 AND n.name_lo <= NEW.name COLLATE "C";
    IF NOT FOUND THEN
        INSERT INTO token_zone_names AS t (zone, name_lo) VALUES (NEW.id >> 10, NEW.name)
        ON CONFLICT (zone) DO UPDATE SET name_lo = least(t.name_lo, excluded.name_lo);
    END IF;
    RETURN NULL;
END;
$$;

DROP FUNCTION IF EXISTS token_zones_widen(token_zones);
DROP FUNCTION IF EXISTS token_zone_names_widen(bigint, text);
