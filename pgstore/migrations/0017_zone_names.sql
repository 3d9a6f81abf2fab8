-- patkit pgstore migration 0017: the least name of every zone, so that a
-- list of all tokens bounded in time, in order of names, starts its walk
-- at the first name a match may have, as SQLite's does.
--
-- token_zones (0015) holds no names: names that grow with each create
-- ("ci 2026-12-02 16:40:01") would widen the zone's greatest name in
-- every create, and sixteen concurrent creates made 500 a second instead
-- of 1,370 (pgbench at 1,000,000 tokens), each waiting for the commit of
-- the one before. So a list of the tokens created in the last 90 days by
-- name walked the index of names from its first entry, reading the
-- names of older tokens that come first: 24 to 51 ms at 1,000,000 tokens
-- (benchtable's list-shapes-postgres, all/created-after/name_asc and
-- all/expires-after/name_asc), where SQLite's zones, which hold names,
-- give under 2 ms.
--
-- token_zone_names holds each zone's least name, bytewise (the order of
-- the index of names), in a table of its own so that the rows of
-- token_zones keep their shape (0015 runs again as written). Only the
-- least: a zone's least name changes when a token is created with a name
-- before every other of its zone, which names that grow, or that are
-- drawn at random (some ln(1,024), 7, times in a zone's 1,024 creates),
-- seldom do; the greatest would change in every create of growing names.
-- A list in descending order of names does not seek, as before. patkit
-- never renames a token, but a host's own UPDATE of a name widens the
-- zone too, as SQLite's zones do (UPDATE OF name: patkit's updates, which
-- set other columns, do not fire the trigger).
-- Like token_zones' bounds, a least name is never greater than its
-- zone's names, and is read first and written only if the new name comes
-- before it.
--
-- Measured at 1,000,000 tokens (benchtable's dataset; pgbench inserting
-- tokens named 'ci ' || clock_timestamp(), 10 s runs, the trigger
-- enabled and disabled in turns): 16 clients made 1,232 to 1,599 creates
-- a second with it and 1,194 to 1,557 without (medians of five, 1,268 and
-- 1,280), one client 1,273 to 1,513 and 1,434 to 1,592 (three each):
-- the machine's noise, with 6 least names written in 135,000 creates.
-- The two lists went from 24-51 ms to 1.10 and 0.90 ms. This migration
-- took 0.34 s there.
--
-- Run it with search_path set to the schema, in one transaction
-- (Migrate and MigrationSQL do). Every statement may run again.

-- The writes of tokens wait from here until the migration commits: every
-- token is either among those the least names are computed from below,
-- or written after the trigger exists.
LOCK TABLE tokens IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE IF NOT EXISTS token_zone_names (
    zone    bigint PRIMARY KEY,
    name_lo text COLLATE "C" NOT NULL
) WITH (fillfactor = 50);

-- The rule, written once: zone z's least name becomes name if name comes
-- first, or the zone is added.
CREATE OR REPLACE FUNCTION token_zone_names_widen(z bigint, name text) RETURNS void
LANGUAGE sql SET search_path FROM CURRENT AS $$
    INSERT INTO token_zone_names AS t VALUES (z, name)
    ON CONFLICT (zone) DO UPDATE SET name_lo = least(t.name_lo, excluded.name_lo);
$$;

SELECT token_zone_names_widen(id >> 10, min(name COLLATE "C")) FROM tokens GROUP BY id >> 10;

CREATE OR REPLACE FUNCTION token_zone_names_trigger() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM 1 FROM token_zone_names AS n WHERE n.zone = NEW.id >> 10 AND n.name_lo <= NEW.name COLLATE "C";
    IF NOT FOUND THEN
        PERFORM token_zone_names_widen(NEW.id >> 10, NEW.name);
    END IF;
    RETURN NULL;
END;
$$;

-- Named to fire after token_zones_widen (triggers on one event fire in
-- the order of their names): a create that widens both locks the zone's
-- row of token_zones first, then that of token_zone_names, as every other
-- does. In the other order, a create holding the least name of a zone and
-- waiting for its bounds, held by a transaction that then wanted the
-- least name, deadlocked (TestCountsExpiryUpdateNoDeadlock).
DROP TRIGGER IF EXISTS token_zones_widen_names ON tokens;
CREATE TRIGGER token_zones_widen_names AFTER INSERT OR UPDATE OF name ON tokens
FOR EACH ROW EXECUTE FUNCTION token_zone_names_trigger();
