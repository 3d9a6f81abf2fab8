-- 0011: the expiry rows of token_counters (token_expiry_counts) count
-- revoked tokens too, in two new counters, n_revoked and n_imp_revoked,
-- beside n and n_imp, which keep counting the tokens not revoked (and so
-- the active and inactive counts that read them are unchanged). With the
-- four counters of token_counts by expiry, a count bounded by expiry
-- (expires_before, expires_after), with or without a revoked or state
-- filter, can be read from a few dozen rows instead of walking up to
-- 10,001 tokens.
--
-- Every token now counts in its expiry rows of each of its scopes (all
-- tokens; its owner; its project or group, if resource_type is neither
-- NULL nor ''): level 0, its expires_at, if it expires; level 1, the start
-- of its block of 32 days, or 9223372036854775807 if it never expires. It
-- counts in one of the four counters, by impersonation and revocation, as
-- in its totals. ALTER TABLE adds the columns (a WITHOUT ROWID table
-- takes them as any other: a row written before reads them as 0); the
-- revoked tokens already there are then counted into them, creating the
-- rows of the expiry dates that only revoked tokens had, in the
-- transaction that replaces the view and the triggers, which holds the
-- write lock meanwhile (0.3 s at 100,000 tokens).
--
-- The triggers: a new token adds 1 to the counter of its kind in its
-- totals and its expiry rows, revoked or not, and a deleted one takes it
-- away; an UPDATE that moves a token to another owner or resource takes
-- it out of its old rows and adds it to its new ones; one that keeps them
-- and changes its expiry, revoked or not, does the same with its expiry
-- rows. One that changes only its revocation or impersonation (Revoke,
-- Rotate) moves 1 from one counter to another in the rows it is counted
-- in, in place: the rows exist, and none of them is emptied, deleted or
-- made again. An expiry row is deleted when its four counters are 0. The
-- totals are kept as before, and a create runs the same statements on
-- the same rows as before.
--
-- Measured on 100,000 tokens (100 owners' and 10,000 project bots',
-- a quarter revoked, a third never expiring), 500 writes each with the
-- Store's statements: a create writes 22.48 WAL frames instead of 22.29
-- and runs 1,186 SQLite VM steps instead of 972 (the rows are 2 columns
-- wider, and the table holds the rows of revoked tokens' expiry dates
-- too: 62,124 rows instead of 53,028); a revocation writes 9.56 frames
-- instead of 9.43, changes 7.7 rows instead of 8.0 (none is deleted) and
-- runs 1,251 VM steps instead of 938, where taking it out of its rows and
-- adding it again would run 1,778 and change 11.6 rows for as many
-- frames.
ALTER TABLE {{prefix}}token_counters ADD COLUMN n_revoked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE {{prefix}}token_counters ADD COLUMN n_imp_revoked INTEGER NOT NULL DEFAULT 0;

INSERT INTO {{prefix}}token_counters (scope, resource_type, id, level, expires_at, n_revoked, n_imp_revoked)
SELECT scope, resource_type, id, level, expires_at, sum(impersonation = 0), sum(impersonation <> 0) FROM (
	SELECT 0 AS scope, '' AS resource_type, 0 AS id, 0 AS level, expires_at, impersonation FROM {{prefix}}tokens
	WHERE revoked <> 0 AND expires_at IS NOT NULL
	UNION ALL
	SELECT 0, '', 0, 1, coalesce(t.expires_at - ((t.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807), impersonation FROM {{prefix}}tokens AS t
	WHERE revoked <> 0
	UNION ALL
	SELECT 1, '', user_id, 0, expires_at, impersonation FROM {{prefix}}tokens
	WHERE revoked <> 0 AND expires_at IS NOT NULL
	UNION ALL
	SELECT 1, '', user_id, 1, coalesce(t.expires_at - ((t.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807), impersonation FROM {{prefix}}tokens AS t
	WHERE revoked <> 0
	UNION ALL
	SELECT 2, resource_type, resource_id, 0, expires_at, impersonation FROM {{prefix}}tokens
	WHERE revoked <> 0 AND expires_at IS NOT NULL AND resource_type <> ''
	UNION ALL
	SELECT 2, resource_type, resource_id, 1, coalesce(t.expires_at - ((t.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807), impersonation FROM {{prefix}}tokens AS t
	WHERE revoked <> 0 AND resource_type <> ''
) WHERE true GROUP BY scope, resource_type, id, level, expires_at
ON CONFLICT (scope, resource_type, id, level, expires_at) DO UPDATE SET n_revoked = excluded.n_revoked,
	n_imp_revoked = excluded.n_imp_revoked;

DROP VIEW {{prefix}}token_expiry_counts;
CREATE VIEW {{prefix}}token_expiry_counts AS
SELECT scope, resource_type, id, level, expires_at, n, n_revoked, n_imp, n_imp_revoked
FROM {{prefix}}token_counters WHERE level < 2;

DROP TRIGGER {{prefix}}token_counters_zero;
DROP TRIGGER {{prefix}}token_counters_insert;
DROP TRIGGER {{prefix}}token_counters_delete;
DROP TRIGGER {{prefix}}token_counters_update;
DROP TRIGGER {{prefix}}token_counters_move;

-- An expiry row whose four counters come down to zero goes: the tokens
-- it counted were deleted, moved or given another expiry.
CREATE TRIGGER {{prefix}}token_counters_zero AFTER UPDATE OF n, n_revoked, n_imp, n_imp_revoked ON {{prefix}}token_counters
WHEN NEW.level < 2 AND NEW.n = 0 AND NEW.n_revoked = 0 AND NEW.n_imp = 0 AND NEW.n_imp_revoked = 0
BEGIN
	DELETE FROM {{prefix}}token_counters WHERE scope = NEW.scope AND resource_type = NEW.resource_type
		AND id = NEW.id AND level = NEW.level AND expires_at = NEW.expires_at;
END;

-- The rows of a token are, for each of its scopes (all tokens; its
-- owner; its project or group, if it has one), its totals, its expiry
-- date (level 0, if it expires) and the start of its block (level 1; the
-- key of never if it never expires), revoked or not.
CREATE TRIGGER {{prefix}}token_counters_insert AFTER INSERT ON {{prefix}}tokens
BEGIN
	INSERT INTO {{prefix}}token_counters (scope, resource_type, id, level, expires_at, total_n, total_n_revoked, total_n_imp, total_n_imp_revoked)
	VALUES (0, '', 0, 2, 0, NEW.impersonation = 0 AND NEW.revoked = 0, NEW.impersonation = 0 AND NEW.revoked <> 0,
		NEW.impersonation <> 0 AND NEW.revoked = 0, NEW.impersonation <> 0 AND NEW.revoked <> 0)
	ON CONFLICT (scope, resource_type, id, level, expires_at) DO UPDATE SET total_n = total_n + excluded.total_n,
		total_n_revoked = total_n_revoked + excluded.total_n_revoked, total_n_imp = total_n_imp + excluded.total_n_imp,
		total_n_imp_revoked = total_n_imp_revoked + excluded.total_n_imp_revoked;
	INSERT INTO {{prefix}}token_counters (scope, resource_type, id, level, expires_at, total_n, total_n_revoked, total_n_imp, total_n_imp_revoked)
	VALUES (1, '', NEW.user_id, 2, 0, NEW.impersonation = 0 AND NEW.revoked = 0, NEW.impersonation = 0 AND NEW.revoked <> 0,
		NEW.impersonation <> 0 AND NEW.revoked = 0, NEW.impersonation <> 0 AND NEW.revoked <> 0)
	ON CONFLICT (scope, resource_type, id, level, expires_at) DO UPDATE SET total_n = total_n + excluded.total_n,
		total_n_revoked = total_n_revoked + excluded.total_n_revoked, total_n_imp = total_n_imp + excluded.total_n_imp,
		total_n_imp_revoked = total_n_imp_revoked + excluded.total_n_imp_revoked;
	INSERT INTO {{prefix}}token_counters (scope, resource_type, id, level, expires_at, total_n, total_n_revoked, total_n_imp, total_n_imp_revoked)
	SELECT 2, NEW.resource_type, NEW.resource_id, 2, 0, NEW.impersonation = 0 AND NEW.revoked = 0, NEW.impersonation = 0 AND NEW.revoked <> 0,
		NEW.impersonation <> 0 AND NEW.revoked = 0, NEW.impersonation <> 0 AND NEW.revoked <> 0
	WHERE NEW.resource_type <> ''
	ON CONFLICT (scope, resource_type, id, level, expires_at) DO UPDATE SET total_n = total_n + excluded.total_n,
		total_n_revoked = total_n_revoked + excluded.total_n_revoked, total_n_imp = total_n_imp + excluded.total_n_imp,
		total_n_imp_revoked = total_n_imp_revoked + excluded.total_n_imp_revoked;
	INSERT INTO {{prefix}}token_counters (scope, resource_type, id, level, expires_at, n, n_revoked, n_imp, n_imp_revoked)
	SELECT k.scope, k.resource_type, k.id, k.level, k.expires_at, NEW.impersonation = 0 AND NEW.revoked = 0, NEW.impersonation = 0 AND NEW.revoked <> 0,
		NEW.impersonation <> 0 AND NEW.revoked = 0, NEW.impersonation <> 0 AND NEW.revoked <> 0
	FROM (
		SELECT 0 AS scope, '' AS resource_type, 0 AS id, 0 AS level, NEW.expires_at AS expires_at
		UNION ALL SELECT 0, '', 0, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
		UNION ALL SELECT 1, '', NEW.user_id, 0, NEW.expires_at
		UNION ALL SELECT 1, '', NEW.user_id, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
		UNION ALL SELECT 2, NEW.resource_type, NEW.resource_id, 0, NEW.expires_at
		UNION ALL SELECT 2, NEW.resource_type, NEW.resource_id, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
	) AS k
	WHERE k.expires_at IS NOT NULL AND k.resource_type IS NOT NULL AND (k.scope < 2 OR k.resource_type <> '')
	ON CONFLICT (scope, resource_type, id, level, expires_at) DO UPDATE SET n = n + excluded.n,
		n_revoked = n_revoked + excluded.n_revoked, n_imp = n_imp + excluded.n_imp,
		n_imp_revoked = n_imp_revoked + excluded.n_imp_revoked;
END;

-- A deleted token no longer counts. Its rows exist: it was counted.
CREATE TRIGGER {{prefix}}token_counters_delete AFTER DELETE ON {{prefix}}tokens
BEGIN
	UPDATE {{prefix}}token_counters SET
		total_n = total_n - (OLD.impersonation = 0 AND OLD.revoked = 0),
		total_n_revoked = total_n_revoked - (OLD.impersonation = 0 AND OLD.revoked <> 0),
		total_n_imp = total_n_imp - (OLD.impersonation <> 0 AND OLD.revoked = 0),
		total_n_imp_revoked = total_n_imp_revoked - (OLD.impersonation <> 0 AND OLD.revoked <> 0)
	WHERE scope = 0 AND resource_type = '' AND id = 0 AND level = 2 AND expires_at = 0;
	UPDATE {{prefix}}token_counters SET
		total_n = total_n - (OLD.impersonation = 0 AND OLD.revoked = 0),
		total_n_revoked = total_n_revoked - (OLD.impersonation = 0 AND OLD.revoked <> 0),
		total_n_imp = total_n_imp - (OLD.impersonation <> 0 AND OLD.revoked = 0),
		total_n_imp_revoked = total_n_imp_revoked - (OLD.impersonation <> 0 AND OLD.revoked <> 0)
	WHERE scope = 1 AND resource_type = '' AND id = OLD.user_id AND level = 2 AND expires_at = 0;
	UPDATE {{prefix}}token_counters SET
		total_n = total_n - (OLD.impersonation = 0 AND OLD.revoked = 0),
		total_n_revoked = total_n_revoked - (OLD.impersonation = 0 AND OLD.revoked <> 0),
		total_n_imp = total_n_imp - (OLD.impersonation <> 0 AND OLD.revoked = 0),
		total_n_imp_revoked = total_n_imp_revoked - (OLD.impersonation <> 0 AND OLD.revoked <> 0)
	WHERE scope = 2 AND resource_type = OLD.resource_type AND id = OLD.resource_id AND level = 2 AND expires_at = 0;
	UPDATE {{prefix}}token_counters SET n = n - (OLD.impersonation = 0 AND OLD.revoked = 0),
		n_revoked = n_revoked - (OLD.impersonation = 0 AND OLD.revoked <> 0),
		n_imp = n_imp - (OLD.impersonation <> 0 AND OLD.revoked = 0),
		n_imp_revoked = n_imp_revoked - (OLD.impersonation <> 0 AND OLD.revoked <> 0)
	WHERE (scope, resource_type, id, level, expires_at) IN (VALUES
		(0, '', 0, 0, OLD.expires_at),
		(0, '', 0, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)),
		(1, '', OLD.user_id, 0, OLD.expires_at),
		(1, '', OLD.user_id, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)),
		(2, OLD.resource_type, OLD.resource_id, 0, OLD.expires_at),
		(2, OLD.resource_type, OLD.resource_id, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)));
END;

-- A token that keeps its owner and resource but whose revocation,
-- impersonation or expiry changes: its totals by the difference; if its
-- expiry is the same, its expiry rows by the difference, in place (a
-- revocation); else out of its old expiry rows and into its new ones. An
-- UPDATE that changes none of them (SetLastUsed, revoking a revoked
-- token) writes nothing.
CREATE TRIGGER {{prefix}}token_counters_update
AFTER UPDATE OF user_id, resource_type, resource_id, impersonation, revoked, expires_at ON {{prefix}}tokens
WHEN OLD.user_id IS NEW.user_id AND OLD.resource_type IS NEW.resource_type AND OLD.resource_id IS NEW.resource_id
	AND ((OLD.impersonation = 0) IS NOT (NEW.impersonation = 0) OR (OLD.revoked = 0) IS NOT (NEW.revoked = 0)
		OR OLD.expires_at IS NOT NEW.expires_at)
BEGIN
	UPDATE {{prefix}}token_counters SET
		total_n = total_n + (NEW.impersonation = 0 AND NEW.revoked = 0) - (OLD.impersonation = 0 AND OLD.revoked = 0),
		total_n_revoked = total_n_revoked + (NEW.impersonation = 0 AND NEW.revoked <> 0) - (OLD.impersonation = 0 AND OLD.revoked <> 0),
		total_n_imp = total_n_imp + (NEW.impersonation <> 0 AND NEW.revoked = 0) - (OLD.impersonation <> 0 AND OLD.revoked = 0),
		total_n_imp_revoked = total_n_imp_revoked + (NEW.impersonation <> 0 AND NEW.revoked <> 0) - (OLD.impersonation <> 0 AND OLD.revoked <> 0)
	WHERE scope = 0 AND resource_type = '' AND id = 0 AND level = 2 AND expires_at = 0;
	UPDATE {{prefix}}token_counters SET
		total_n = total_n + (NEW.impersonation = 0 AND NEW.revoked = 0) - (OLD.impersonation = 0 AND OLD.revoked = 0),
		total_n_revoked = total_n_revoked + (NEW.impersonation = 0 AND NEW.revoked <> 0) - (OLD.impersonation = 0 AND OLD.revoked <> 0),
		total_n_imp = total_n_imp + (NEW.impersonation <> 0 AND NEW.revoked = 0) - (OLD.impersonation <> 0 AND OLD.revoked = 0),
		total_n_imp_revoked = total_n_imp_revoked + (NEW.impersonation <> 0 AND NEW.revoked <> 0) - (OLD.impersonation <> 0 AND OLD.revoked <> 0)
	WHERE scope = 1 AND resource_type = '' AND id = NEW.user_id AND level = 2 AND expires_at = 0;
	UPDATE {{prefix}}token_counters SET
		total_n = total_n + (NEW.impersonation = 0 AND NEW.revoked = 0) - (OLD.impersonation = 0 AND OLD.revoked = 0),
		total_n_revoked = total_n_revoked + (NEW.impersonation = 0 AND NEW.revoked <> 0) - (OLD.impersonation = 0 AND OLD.revoked <> 0),
		total_n_imp = total_n_imp + (NEW.impersonation <> 0 AND NEW.revoked = 0) - (OLD.impersonation <> 0 AND OLD.revoked = 0),
		total_n_imp_revoked = total_n_imp_revoked + (NEW.impersonation <> 0 AND NEW.revoked <> 0) - (OLD.impersonation <> 0 AND OLD.revoked <> 0)
	WHERE scope = 2 AND resource_type = NEW.resource_type AND id = NEW.resource_id AND level = 2 AND expires_at = 0;
	UPDATE {{prefix}}token_counters SET
		n = n + (NEW.impersonation = 0 AND NEW.revoked = 0) - (OLD.impersonation = 0 AND OLD.revoked = 0),
		n_revoked = n_revoked + (NEW.impersonation = 0 AND NEW.revoked <> 0) - (OLD.impersonation = 0 AND OLD.revoked <> 0),
		n_imp = n_imp + (NEW.impersonation <> 0 AND NEW.revoked = 0) - (OLD.impersonation <> 0 AND OLD.revoked = 0),
		n_imp_revoked = n_imp_revoked + (NEW.impersonation <> 0 AND NEW.revoked <> 0) - (OLD.impersonation <> 0 AND OLD.revoked <> 0)
	WHERE OLD.expires_at IS NEW.expires_at AND (scope, resource_type, id, level, expires_at) IN (VALUES
		(0, '', 0, 0, OLD.expires_at),
		(0, '', 0, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)),
		(1, '', OLD.user_id, 0, OLD.expires_at),
		(1, '', OLD.user_id, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)),
		(2, OLD.resource_type, OLD.resource_id, 0, OLD.expires_at),
		(2, OLD.resource_type, OLD.resource_id, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)));
	UPDATE {{prefix}}token_counters SET n = n - (OLD.impersonation = 0 AND OLD.revoked = 0),
		n_revoked = n_revoked - (OLD.impersonation = 0 AND OLD.revoked <> 0),
		n_imp = n_imp - (OLD.impersonation <> 0 AND OLD.revoked = 0),
		n_imp_revoked = n_imp_revoked - (OLD.impersonation <> 0 AND OLD.revoked <> 0)
	WHERE OLD.expires_at IS NOT NEW.expires_at AND (scope, resource_type, id, level, expires_at) IN (VALUES
		(0, '', 0, 0, OLD.expires_at),
		(0, '', 0, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)),
		(1, '', OLD.user_id, 0, OLD.expires_at),
		(1, '', OLD.user_id, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)),
		(2, OLD.resource_type, OLD.resource_id, 0, OLD.expires_at),
		(2, OLD.resource_type, OLD.resource_id, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)));
	INSERT INTO {{prefix}}token_counters (scope, resource_type, id, level, expires_at, n, n_revoked, n_imp, n_imp_revoked)
	SELECT k.scope, k.resource_type, k.id, k.level, k.expires_at, NEW.impersonation = 0 AND NEW.revoked = 0, NEW.impersonation = 0 AND NEW.revoked <> 0,
		NEW.impersonation <> 0 AND NEW.revoked = 0, NEW.impersonation <> 0 AND NEW.revoked <> 0
	FROM (
		SELECT 0 AS scope, '' AS resource_type, 0 AS id, 0 AS level, NEW.expires_at AS expires_at
		UNION ALL SELECT 0, '', 0, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
		UNION ALL SELECT 1, '', NEW.user_id, 0, NEW.expires_at
		UNION ALL SELECT 1, '', NEW.user_id, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
		UNION ALL SELECT 2, NEW.resource_type, NEW.resource_id, 0, NEW.expires_at
		UNION ALL SELECT 2, NEW.resource_type, NEW.resource_id, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
	) AS k
	WHERE OLD.expires_at IS NOT NEW.expires_at AND k.expires_at IS NOT NULL AND k.resource_type IS NOT NULL AND (k.scope < 2 OR k.resource_type <> '')
	ON CONFLICT (scope, resource_type, id, level, expires_at) DO UPDATE SET n = n + excluded.n,
		n_revoked = n_revoked + excluded.n_revoked, n_imp = n_imp + excluded.n_imp,
		n_imp_revoked = n_imp_revoked + excluded.n_imp_revoked;
END;

-- A token that moves to another owner or resource: out of its old rows,
-- into its new ones.
CREATE TRIGGER {{prefix}}token_counters_move
AFTER UPDATE OF user_id, resource_type, resource_id, impersonation, revoked, expires_at ON {{prefix}}tokens
WHEN OLD.user_id IS NOT NEW.user_id OR OLD.resource_type IS NOT NEW.resource_type OR OLD.resource_id IS NOT NEW.resource_id
BEGIN
	UPDATE {{prefix}}token_counters SET
		total_n = total_n - (OLD.impersonation = 0 AND OLD.revoked = 0),
		total_n_revoked = total_n_revoked - (OLD.impersonation = 0 AND OLD.revoked <> 0),
		total_n_imp = total_n_imp - (OLD.impersonation <> 0 AND OLD.revoked = 0),
		total_n_imp_revoked = total_n_imp_revoked - (OLD.impersonation <> 0 AND OLD.revoked <> 0)
	WHERE scope = 0 AND resource_type = '' AND id = 0 AND level = 2 AND expires_at = 0;
	UPDATE {{prefix}}token_counters SET
		total_n = total_n - (OLD.impersonation = 0 AND OLD.revoked = 0),
		total_n_revoked = total_n_revoked - (OLD.impersonation = 0 AND OLD.revoked <> 0),
		total_n_imp = total_n_imp - (OLD.impersonation <> 0 AND OLD.revoked = 0),
		total_n_imp_revoked = total_n_imp_revoked - (OLD.impersonation <> 0 AND OLD.revoked <> 0)
	WHERE scope = 1 AND resource_type = '' AND id = OLD.user_id AND level = 2 AND expires_at = 0;
	UPDATE {{prefix}}token_counters SET
		total_n = total_n - (OLD.impersonation = 0 AND OLD.revoked = 0),
		total_n_revoked = total_n_revoked - (OLD.impersonation = 0 AND OLD.revoked <> 0),
		total_n_imp = total_n_imp - (OLD.impersonation <> 0 AND OLD.revoked = 0),
		total_n_imp_revoked = total_n_imp_revoked - (OLD.impersonation <> 0 AND OLD.revoked <> 0)
	WHERE scope = 2 AND resource_type = OLD.resource_type AND id = OLD.resource_id AND level = 2 AND expires_at = 0;
	INSERT INTO {{prefix}}token_counters (scope, resource_type, id, level, expires_at, total_n, total_n_revoked, total_n_imp, total_n_imp_revoked)
	VALUES (0, '', 0, 2, 0, NEW.impersonation = 0 AND NEW.revoked = 0, NEW.impersonation = 0 AND NEW.revoked <> 0,
		NEW.impersonation <> 0 AND NEW.revoked = 0, NEW.impersonation <> 0 AND NEW.revoked <> 0)
	ON CONFLICT (scope, resource_type, id, level, expires_at) DO UPDATE SET total_n = total_n + excluded.total_n,
		total_n_revoked = total_n_revoked + excluded.total_n_revoked, total_n_imp = total_n_imp + excluded.total_n_imp,
		total_n_imp_revoked = total_n_imp_revoked + excluded.total_n_imp_revoked;
	INSERT INTO {{prefix}}token_counters (scope, resource_type, id, level, expires_at, total_n, total_n_revoked, total_n_imp, total_n_imp_revoked)
	VALUES (1, '', NEW.user_id, 2, 0, NEW.impersonation = 0 AND NEW.revoked = 0, NEW.impersonation = 0 AND NEW.revoked <> 0,
		NEW.impersonation <> 0 AND NEW.revoked = 0, NEW.impersonation <> 0 AND NEW.revoked <> 0)
	ON CONFLICT (scope, resource_type, id, level, expires_at) DO UPDATE SET total_n = total_n + excluded.total_n,
		total_n_revoked = total_n_revoked + excluded.total_n_revoked, total_n_imp = total_n_imp + excluded.total_n_imp,
		total_n_imp_revoked = total_n_imp_revoked + excluded.total_n_imp_revoked;
	INSERT INTO {{prefix}}token_counters (scope, resource_type, id, level, expires_at, total_n, total_n_revoked, total_n_imp, total_n_imp_revoked)
	SELECT 2, NEW.resource_type, NEW.resource_id, 2, 0, NEW.impersonation = 0 AND NEW.revoked = 0, NEW.impersonation = 0 AND NEW.revoked <> 0,
		NEW.impersonation <> 0 AND NEW.revoked = 0, NEW.impersonation <> 0 AND NEW.revoked <> 0
	WHERE NEW.resource_type <> ''
	ON CONFLICT (scope, resource_type, id, level, expires_at) DO UPDATE SET total_n = total_n + excluded.total_n,
		total_n_revoked = total_n_revoked + excluded.total_n_revoked, total_n_imp = total_n_imp + excluded.total_n_imp,
		total_n_imp_revoked = total_n_imp_revoked + excluded.total_n_imp_revoked;
	UPDATE {{prefix}}token_counters SET n = n - (OLD.impersonation = 0 AND OLD.revoked = 0),
		n_revoked = n_revoked - (OLD.impersonation = 0 AND OLD.revoked <> 0),
		n_imp = n_imp - (OLD.impersonation <> 0 AND OLD.revoked = 0),
		n_imp_revoked = n_imp_revoked - (OLD.impersonation <> 0 AND OLD.revoked <> 0)
	WHERE (scope, resource_type, id, level, expires_at) IN (VALUES
		(0, '', 0, 0, OLD.expires_at),
		(0, '', 0, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)),
		(1, '', OLD.user_id, 0, OLD.expires_at),
		(1, '', OLD.user_id, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)),
		(2, OLD.resource_type, OLD.resource_id, 0, OLD.expires_at),
		(2, OLD.resource_type, OLD.resource_id, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)));
	INSERT INTO {{prefix}}token_counters (scope, resource_type, id, level, expires_at, n, n_revoked, n_imp, n_imp_revoked)
	SELECT k.scope, k.resource_type, k.id, k.level, k.expires_at, NEW.impersonation = 0 AND NEW.revoked = 0, NEW.impersonation = 0 AND NEW.revoked <> 0,
		NEW.impersonation <> 0 AND NEW.revoked = 0, NEW.impersonation <> 0 AND NEW.revoked <> 0
	FROM (
		SELECT 0 AS scope, '' AS resource_type, 0 AS id, 0 AS level, NEW.expires_at AS expires_at
		UNION ALL SELECT 0, '', 0, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
		UNION ALL SELECT 1, '', NEW.user_id, 0, NEW.expires_at
		UNION ALL SELECT 1, '', NEW.user_id, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
		UNION ALL SELECT 2, NEW.resource_type, NEW.resource_id, 0, NEW.expires_at
		UNION ALL SELECT 2, NEW.resource_type, NEW.resource_id, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
	) AS k
	WHERE k.expires_at IS NOT NULL AND k.resource_type IS NOT NULL AND (k.scope < 2 OR k.resource_type <> '')
	ON CONFLICT (scope, resource_type, id, level, expires_at) DO UPDATE SET n = n + excluded.n,
		n_revoked = n_revoked + excluded.n_revoked, n_imp = n_imp + excluded.n_imp,
		n_imp_revoked = n_imp_revoked + excluded.n_imp_revoked;
END;
