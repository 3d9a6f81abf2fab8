-- 0009: token_counters, the counters of token_counts and
-- token_expiry_counts in one table, so that the counters a write changes
-- share pages: each page a commit changes is written to the write-ahead
-- log, and the two tables had a token's creation change five (the rows of
-- all tokens in each table, and its owner's in each), where this one has
-- it change three.
--
-- A row of token_counts is the row of its scope at level 2 and expires_at
-- 0, its counters in the columns total_n, total_n_revoked, total_n_imp
-- and total_n_imp_revoked; the rows of token_expiry_counts keep their
-- level (0 and 1), their counters in n and n_imp. Within a scope, level 0
-- (a row per expiry date) comes first, then level 1 (a row per block of
-- 32 days) and the scope's row of totals next to it. token_counts and
-- token_expiry_counts become views of it, with the columns and rows they
-- had: List's counts read them as they read the tables (SQLite's planner
-- reads the view's rows through the primary key of token_counters).
--
-- The triggers keep the same counts as those of 0005 and 0008, which they
-- replace: a new token adds to the totals of its scopes and, unless it is
-- revoked, to its expiry rows; a deleted one takes away the same; an
-- UPDATE that changes a token's owner, resource, impersonation,
-- revocation or (not revoked) expiry takes the old token away from its
-- rows and adds the new one to its rows; an expiry row that comes down to
-- zero is deleted. The totals and the expiry rows are written by
-- statements of their own, so that only the expiry rows' updates fire the
-- trigger that deletes those at zero. The counts of the tokens already
-- there are moved over in the same transaction.
CREATE TABLE {{prefix}}token_counters (
	scope               INTEGER NOT NULL,
	resource_type       TEXT    NOT NULL,
	id                  INTEGER NOT NULL,
	level               INTEGER NOT NULL,
	expires_at          INTEGER NOT NULL,
	n                   INTEGER NOT NULL DEFAULT 0,
	n_imp               INTEGER NOT NULL DEFAULT 0,
	total_n             INTEGER NOT NULL DEFAULT 0,
	total_n_revoked     INTEGER NOT NULL DEFAULT 0,
	total_n_imp         INTEGER NOT NULL DEFAULT 0,
	total_n_imp_revoked INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (scope, resource_type, id, level, expires_at)
) WITHOUT ROWID;

INSERT INTO {{prefix}}token_counters (scope, resource_type, id, level, expires_at,
	total_n, total_n_revoked, total_n_imp, total_n_imp_revoked)
SELECT scope, resource_type, id, 2, 0, n, n_revoked, n_imp, n_imp_revoked FROM {{prefix}}token_counts;
INSERT INTO {{prefix}}token_counters (scope, resource_type, id, level, expires_at, n, n_imp)
SELECT scope, resource_type, id, level, expires_at, n, n_imp FROM {{prefix}}token_expiry_counts;

DROP TRIGGER {{prefix}}token_counts_insert;
DROP TRIGGER {{prefix}}token_counts_delete;
DROP TRIGGER {{prefix}}token_counts_update;
DROP TRIGGER {{prefix}}token_counts_move;
DROP TRIGGER {{prefix}}token_expiry_counts_zero;
DROP TRIGGER {{prefix}}token_expiry_counts_insert;
DROP TRIGGER {{prefix}}token_expiry_counts_delete;
DROP TRIGGER {{prefix}}token_expiry_counts_update;
DROP TABLE {{prefix}}token_counts;
DROP TABLE {{prefix}}token_expiry_counts;

CREATE VIEW {{prefix}}token_counts AS
SELECT scope, resource_type, id, total_n AS n, total_n_revoked AS n_revoked, total_n_imp AS n_imp,
	total_n_imp_revoked AS n_imp_revoked
FROM {{prefix}}token_counters WHERE level = 2;
CREATE VIEW {{prefix}}token_expiry_counts AS
SELECT scope, resource_type, id, level, expires_at, n, n_imp FROM {{prefix}}token_counters WHERE level < 2;

-- An expiry row that comes down to zero goes: the tokens it counted were
-- revoked, deleted or moved.
CREATE TRIGGER {{prefix}}token_counters_zero AFTER UPDATE OF n, n_imp ON {{prefix}}token_counters
WHEN NEW.level < 2 AND NEW.n = 0 AND NEW.n_imp = 0
BEGIN
	DELETE FROM {{prefix}}token_counters WHERE scope = NEW.scope AND resource_type = NEW.resource_type
		AND id = NEW.id AND level = NEW.level AND expires_at = NEW.expires_at;
END;

-- The rows of a token are, for each of its scopes (all tokens; its
-- owner; its project or group, if it has one), its totals, and, if it is
-- not revoked, its expiry date (level 0, if it expires) and the start of
-- its block (level 1; the key of never if it never expires).
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
	INSERT INTO {{prefix}}token_counters (scope, resource_type, id, level, expires_at, n, n_imp)
	SELECT k.scope, k.resource_type, k.id, k.level, k.expires_at, NEW.impersonation = 0, NEW.impersonation <> 0
	FROM (
		SELECT 0 AS scope, '' AS resource_type, 0 AS id, 0 AS level, NEW.expires_at AS expires_at
		UNION ALL SELECT 0, '', 0, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
		UNION ALL SELECT 1, '', NEW.user_id, 0, NEW.expires_at
		UNION ALL SELECT 1, '', NEW.user_id, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
		UNION ALL SELECT 2, NEW.resource_type, NEW.resource_id, 0, NEW.expires_at
		UNION ALL SELECT 2, NEW.resource_type, NEW.resource_id, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
	) AS k
	WHERE NEW.revoked = 0 AND k.expires_at IS NOT NULL AND k.resource_type IS NOT NULL AND (k.scope < 2 OR k.resource_type <> '')
	ON CONFLICT (scope, resource_type, id, level, expires_at) DO UPDATE SET n = n + excluded.n, n_imp = n_imp + excluded.n_imp;
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
	UPDATE {{prefix}}token_counters SET n = n - (OLD.impersonation = 0), n_imp = n_imp - (OLD.impersonation <> 0)
	WHERE OLD.revoked = 0 AND (scope, resource_type, id, level, expires_at) IN (VALUES
		(0, '', 0, 0, OLD.expires_at),
		(0, '', 0, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)),
		(1, '', OLD.user_id, 0, OLD.expires_at),
		(1, '', OLD.user_id, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)),
		(2, OLD.resource_type, OLD.resource_id, 0, OLD.expires_at),
		(2, OLD.resource_type, OLD.resource_id, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)));
END;

-- A token that keeps its owner and resource but whose revocation,
-- impersonation or (not revoked) expiry changes: its totals by the
-- difference, and, if it was not revoked, out of its old expiry rows and,
-- if it is not, into its new ones. An UPDATE that changes none of them
-- (SetLastUsed, revoking a revoked token) writes nothing.
CREATE TRIGGER {{prefix}}token_counters_update
AFTER UPDATE OF user_id, resource_type, resource_id, impersonation, revoked, expires_at ON {{prefix}}tokens
WHEN OLD.user_id IS NEW.user_id AND OLD.resource_type IS NEW.resource_type AND OLD.resource_id IS NEW.resource_id
	AND ((OLD.impersonation = 0) IS NOT (NEW.impersonation = 0) OR (OLD.revoked = 0) IS NOT (NEW.revoked = 0)
		OR (OLD.revoked = 0 AND OLD.expires_at IS NOT NEW.expires_at))
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
	UPDATE {{prefix}}token_counters SET n = n - (OLD.impersonation = 0), n_imp = n_imp - (OLD.impersonation <> 0)
	WHERE OLD.revoked = 0 AND (scope, resource_type, id, level, expires_at) IN (VALUES
		(0, '', 0, 0, OLD.expires_at),
		(0, '', 0, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)),
		(1, '', OLD.user_id, 0, OLD.expires_at),
		(1, '', OLD.user_id, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)),
		(2, OLD.resource_type, OLD.resource_id, 0, OLD.expires_at),
		(2, OLD.resource_type, OLD.resource_id, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)));
	INSERT INTO {{prefix}}token_counters (scope, resource_type, id, level, expires_at, n, n_imp)
	SELECT k.scope, k.resource_type, k.id, k.level, k.expires_at, NEW.impersonation = 0, NEW.impersonation <> 0
	FROM (
		SELECT 0 AS scope, '' AS resource_type, 0 AS id, 0 AS level, NEW.expires_at AS expires_at
		UNION ALL SELECT 0, '', 0, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
		UNION ALL SELECT 1, '', NEW.user_id, 0, NEW.expires_at
		UNION ALL SELECT 1, '', NEW.user_id, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
		UNION ALL SELECT 2, NEW.resource_type, NEW.resource_id, 0, NEW.expires_at
		UNION ALL SELECT 2, NEW.resource_type, NEW.resource_id, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
	) AS k
	WHERE NEW.revoked = 0 AND k.expires_at IS NOT NULL AND k.resource_type IS NOT NULL AND (k.scope < 2 OR k.resource_type <> '')
	ON CONFLICT (scope, resource_type, id, level, expires_at) DO UPDATE SET n = n + excluded.n, n_imp = n_imp + excluded.n_imp;
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
	UPDATE {{prefix}}token_counters SET n = n - (OLD.impersonation = 0), n_imp = n_imp - (OLD.impersonation <> 0)
	WHERE OLD.revoked = 0 AND (scope, resource_type, id, level, expires_at) IN (VALUES
		(0, '', 0, 0, OLD.expires_at),
		(0, '', 0, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)),
		(1, '', OLD.user_id, 0, OLD.expires_at),
		(1, '', OLD.user_id, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)),
		(2, OLD.resource_type, OLD.resource_id, 0, OLD.expires_at),
		(2, OLD.resource_type, OLD.resource_id, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)));
	INSERT INTO {{prefix}}token_counters (scope, resource_type, id, level, expires_at, n, n_imp)
	SELECT k.scope, k.resource_type, k.id, k.level, k.expires_at, NEW.impersonation = 0, NEW.impersonation <> 0
	FROM (
		SELECT 0 AS scope, '' AS resource_type, 0 AS id, 0 AS level, NEW.expires_at AS expires_at
		UNION ALL SELECT 0, '', 0, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
		UNION ALL SELECT 1, '', NEW.user_id, 0, NEW.expires_at
		UNION ALL SELECT 1, '', NEW.user_id, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
		UNION ALL SELECT 2, NEW.resource_type, NEW.resource_id, 0, NEW.expires_at
		UNION ALL SELECT 2, NEW.resource_type, NEW.resource_id, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
	) AS k
	WHERE NEW.revoked = 0 AND k.expires_at IS NOT NULL AND k.resource_type IS NOT NULL AND (k.scope < 2 OR k.resource_type <> '')
	ON CONFLICT (scope, resource_type, id, level, expires_at) DO UPDATE SET n = n + excluded.n, n_imp = n_imp + excluded.n_imp;
END;
