-- 0008: token_expiry_counts, the number of tokens not revoked per scope
-- and expiry, kept by triggers, so that List counts the active and the
-- inactive tokens of a scope (with any impersonation and revoked filter)
-- by adding up a few dozen rows instead of walking up to 10,001 tokens.
-- Nothing is written as time passes: which rows a count reads depends on
-- the time of the query.
--
-- Its scopes are those of token_counts (0 all tokens, 1 a user's, 2 a
-- project's or group's), n counts tokens that are not impersonation
-- tokens, n_imp those that are, and revoked tokens are not counted. Each
-- token counts in two rows of each of its scopes:
--
--   level 0, expires_at: its expires_at, if it expires;
--   level 1, expires_at: the start of its block of 32 days
--     (2764800000000 microseconds) from the Unix epoch, or
--     9223372036854775807, the sort key of never, if it never expires.
--
-- A token is active at now when it is not revoked and its expiry key is
-- after now. Those of a scope are the tokens of its level-0 rows after now
-- and before the next block (at most the 31 days left of the block of
-- now), plus those of its level-1 rows from the next block on (at most one
-- per 32 days up to the latest expiry, and never): a count reads about 45
-- rows when tokens expire within a year, however many there are. The
-- inactive tokens of a scope are the others, its token_counts less its
-- active tokens. See NextBlock in internal/sqlq, which computes the next
-- block as these triggers do.
--
-- The triggers update it in the statement, and so in the transaction, that
-- changes tokens, whoever changes them: Create, Revoke, Rotate, or the
-- host's own INSERT, UPDATE and DELETE. An UPDATE that changes neither
-- owner, resource, impersonation, revocation nor expiry of a token that is
-- or was not revoked (SetLastUsed, a revocation of a revoked token) writes
-- nothing. A row that comes down to zero is deleted, so the table holds the
-- expiry dates of tokens not revoked (expired ones included: a query may
-- ask about any time). The migration creates them and fills the table from
-- the tokens already there in one transaction.
CREATE TABLE {{prefix}}token_expiry_counts (
	scope         INTEGER NOT NULL,
	resource_type TEXT    NOT NULL,
	id            INTEGER NOT NULL,
	level         INTEGER NOT NULL,
	expires_at    INTEGER NOT NULL,
	n             INTEGER NOT NULL,
	n_imp         INTEGER NOT NULL,
	PRIMARY KEY (scope, resource_type, id, level, expires_at)
) WITHOUT ROWID;

INSERT INTO {{prefix}}token_expiry_counts
SELECT scope, resource_type, id, level, expires_at, sum(impersonation = 0), sum(impersonation <> 0) FROM (
	SELECT 0 AS scope, '' AS resource_type, 0 AS id, 0 AS level, expires_at, impersonation FROM {{prefix}}tokens
	WHERE revoked = 0 AND expires_at IS NOT NULL
	UNION ALL
	SELECT 0, '', 0, 1, coalesce(t.expires_at - ((t.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807), impersonation FROM {{prefix}}tokens AS t
	WHERE revoked = 0
	UNION ALL
	SELECT 1 AS scope, '' AS resource_type, user_id AS id, 0 AS level, expires_at, impersonation FROM {{prefix}}tokens
	WHERE revoked = 0 AND expires_at IS NOT NULL
	UNION ALL
	SELECT 1, '', user_id, 1, coalesce(t.expires_at - ((t.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807), impersonation FROM {{prefix}}tokens AS t
	WHERE revoked = 0
	UNION ALL
	SELECT 2 AS scope, resource_type AS resource_type, resource_id AS id, 0 AS level, expires_at, impersonation FROM {{prefix}}tokens
	WHERE revoked = 0 AND expires_at IS NOT NULL AND resource_type <> ''
	UNION ALL
	SELECT 2, resource_type, resource_id, 1, coalesce(t.expires_at - ((t.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807), impersonation FROM {{prefix}}tokens AS t
	WHERE revoked = 0 AND resource_type <> ''
) GROUP BY scope, resource_type, id, level, expires_at;

-- A row that comes down to zero goes: the tokens it counted were revoked,
-- deleted or moved.
CREATE TRIGGER {{prefix}}token_expiry_counts_zero AFTER UPDATE OF n, n_imp ON {{prefix}}token_expiry_counts
WHEN NEW.n = 0 AND NEW.n_imp = 0
BEGIN
	DELETE FROM {{prefix}}token_expiry_counts WHERE scope = NEW.scope AND resource_type = NEW.resource_type
		AND id = NEW.id AND level = NEW.level AND expires_at = NEW.expires_at;
END;

-- A new token not revoked counts in its scopes.
CREATE TRIGGER {{prefix}}token_expiry_counts_insert AFTER INSERT ON {{prefix}}tokens
WHEN NEW.revoked = 0
BEGIN
	INSERT INTO {{prefix}}token_expiry_counts (scope, resource_type, id, level, expires_at, n, n_imp)
	SELECT k.scope, k.resource_type, k.id, k.level, k.expires_at, NEW.impersonation = 0, NEW.impersonation <> 0
	FROM (
		SELECT 0 AS scope, '' AS resource_type, 0 AS id, 0 AS level, NEW.expires_at AS expires_at
		UNION ALL SELECT 0, '', 0, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
		UNION ALL SELECT 1, '', NEW.user_id, 0, NEW.expires_at
		UNION ALL SELECT 1, '', NEW.user_id, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
		UNION ALL SELECT 2, NEW.resource_type, NEW.resource_id, 0, NEW.expires_at
		UNION ALL SELECT 2, NEW.resource_type, NEW.resource_id, 1, coalesce(NEW.expires_at - ((NEW.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)
	) AS k
	WHERE k.expires_at IS NOT NULL AND k.resource_type IS NOT NULL AND (k.scope < 2 OR k.resource_type <> '')
	ON CONFLICT (scope, resource_type, id, level, expires_at) DO UPDATE SET n = n + excluded.n, n_imp = n_imp + excluded.n_imp;
END;

-- A deleted token not revoked no longer counts. Its rows exist: it was
-- counted.
CREATE TRIGGER {{prefix}}token_expiry_counts_delete AFTER DELETE ON {{prefix}}tokens
WHEN OLD.revoked = 0
BEGIN
	UPDATE {{prefix}}token_expiry_counts SET n = n - (OLD.impersonation = 0), n_imp = n_imp - (OLD.impersonation <> 0)
	WHERE (scope, resource_type, id, level, expires_at) IN (VALUES
		(0, '', 0, 0, OLD.expires_at),
		(0, '', 0, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)),
		(1, '', OLD.user_id, 0, OLD.expires_at),
		(1, '', OLD.user_id, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)),
		(2, OLD.resource_type, OLD.resource_id, 0, OLD.expires_at),
		(2, OLD.resource_type, OLD.resource_id, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)));
END;

-- A token whose owner, resource, impersonation, revocation or expiry
-- changes, and that is or was not revoked: out of its old rows if it was
-- counted, into its new ones if it is.
CREATE TRIGGER {{prefix}}token_expiry_counts_update
AFTER UPDATE OF user_id, resource_type, resource_id, impersonation, revoked, expires_at ON {{prefix}}tokens
WHEN (OLD.revoked = 0 OR NEW.revoked = 0) AND (OLD.revoked <> 0 OR NEW.revoked <> 0
	OR OLD.user_id IS NOT NEW.user_id OR OLD.resource_type IS NOT NEW.resource_type OR OLD.resource_id IS NOT NEW.resource_id
	OR (OLD.impersonation = 0) IS NOT (NEW.impersonation = 0) OR OLD.expires_at IS NOT NEW.expires_at)
BEGIN
	UPDATE {{prefix}}token_expiry_counts SET n = n - (OLD.impersonation = 0), n_imp = n_imp - (OLD.impersonation <> 0)
	WHERE OLD.revoked = 0 AND (scope, resource_type, id, level, expires_at) IN (VALUES
		(0, '', 0, 0, OLD.expires_at),
		(0, '', 0, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)),
		(1, '', OLD.user_id, 0, OLD.expires_at),
		(1, '', OLD.user_id, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)),
		(2, OLD.resource_type, OLD.resource_id, 0, OLD.expires_at),
		(2, OLD.resource_type, OLD.resource_id, 1, coalesce(OLD.expires_at - ((OLD.expires_at % 2764800000000) + 2764800000000) % 2764800000000, 9223372036854775807)));
	INSERT INTO {{prefix}}token_expiry_counts (scope, resource_type, id, level, expires_at, n, n_imp)
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
