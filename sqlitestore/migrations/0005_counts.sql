-- 0005: token_counts, the number of tokens per scope, kept by triggers, so
-- that List counts the matches of a query that does not depend on time
-- (filters on owner, resource, impersonation and revocation only) by
-- reading a row or three instead of walking up to 10,001 tokens.
--
-- A row counts the tokens of one scope: scope 0 all of them (resource_type
-- '' and id 0), 1 those of the user id, 2 those of the project or group
-- resource_type id. Its four counters split them by impersonation and
-- revocation: n neither, n_revoked revoked, n_imp impersonation, and
-- n_imp_revoked both. impersonation and revoked are read as booleans
-- (0 false, anything else true).
--
-- The triggers update it in the statement, and so in the transaction, that
-- changes tokens, whoever changes them: Create, Revoke, Rotate, or the
-- host's own INSERT, UPDATE and DELETE. An UPDATE that leaves the counted
-- columns as they were (SetLastUsed, a revocation of a revoked token)
-- changes no count. The migration creates them and fills the table from
-- the tokens already there in one transaction.
CREATE TABLE {{prefix}}token_counts (
	scope         INTEGER NOT NULL,
	resource_type TEXT    NOT NULL,
	id            INTEGER NOT NULL,
	n             INTEGER NOT NULL,
	n_revoked     INTEGER NOT NULL,
	n_imp         INTEGER NOT NULL,
	n_imp_revoked INTEGER NOT NULL,
	PRIMARY KEY (scope, resource_type, id)
) WITHOUT ROWID;

INSERT INTO {{prefix}}token_counts
SELECT 0, '', 0,
	coalesce(sum(impersonation = 0 AND revoked = 0), 0), coalesce(sum(impersonation = 0 AND revoked <> 0), 0),
	coalesce(sum(impersonation <> 0 AND revoked = 0), 0), coalesce(sum(impersonation <> 0 AND revoked <> 0), 0)
FROM {{prefix}}tokens;

INSERT INTO {{prefix}}token_counts
SELECT 1, '', user_id,
	sum(impersonation = 0 AND revoked = 0), sum(impersonation = 0 AND revoked <> 0),
	sum(impersonation <> 0 AND revoked = 0), sum(impersonation <> 0 AND revoked <> 0)
FROM {{prefix}}tokens GROUP BY user_id;

INSERT INTO {{prefix}}token_counts
SELECT 2, resource_type, resource_id,
	sum(impersonation = 0 AND revoked = 0), sum(impersonation = 0 AND revoked <> 0),
	sum(impersonation <> 0 AND revoked = 0), sum(impersonation <> 0 AND revoked <> 0)
FROM {{prefix}}tokens WHERE resource_type <> '' GROUP BY resource_type, resource_id;

-- A new token counts in its scopes.
CREATE TRIGGER {{prefix}}token_counts_insert AFTER INSERT ON {{prefix}}tokens
BEGIN
	INSERT INTO {{prefix}}token_counts VALUES (0, '', 0,
		NEW.impersonation = 0 AND NEW.revoked = 0, NEW.impersonation = 0 AND NEW.revoked <> 0,
		NEW.impersonation <> 0 AND NEW.revoked = 0, NEW.impersonation <> 0 AND NEW.revoked <> 0)
	ON CONFLICT (scope, resource_type, id) DO UPDATE SET n = n + excluded.n, n_revoked = n_revoked + excluded.n_revoked,
		n_imp = n_imp + excluded.n_imp, n_imp_revoked = n_imp_revoked + excluded.n_imp_revoked;
	INSERT INTO {{prefix}}token_counts VALUES (1, '', NEW.user_id,
		NEW.impersonation = 0 AND NEW.revoked = 0, NEW.impersonation = 0 AND NEW.revoked <> 0,
		NEW.impersonation <> 0 AND NEW.revoked = 0, NEW.impersonation <> 0 AND NEW.revoked <> 0)
	ON CONFLICT (scope, resource_type, id) DO UPDATE SET n = n + excluded.n, n_revoked = n_revoked + excluded.n_revoked,
		n_imp = n_imp + excluded.n_imp, n_imp_revoked = n_imp_revoked + excluded.n_imp_revoked;
	INSERT INTO {{prefix}}token_counts SELECT 2, NEW.resource_type, NEW.resource_id,
		NEW.impersonation = 0 AND NEW.revoked = 0, NEW.impersonation = 0 AND NEW.revoked <> 0,
		NEW.impersonation <> 0 AND NEW.revoked = 0, NEW.impersonation <> 0 AND NEW.revoked <> 0
	WHERE NEW.resource_type <> ''
	ON CONFLICT (scope, resource_type, id) DO UPDATE SET n = n + excluded.n, n_revoked = n_revoked + excluded.n_revoked,
		n_imp = n_imp + excluded.n_imp, n_imp_revoked = n_imp_revoked + excluded.n_imp_revoked;
END;

-- A deleted token no longer counts.
CREATE TRIGGER {{prefix}}token_counts_delete AFTER DELETE ON {{prefix}}tokens
BEGIN
	INSERT INTO {{prefix}}token_counts VALUES (0, '', 0,
		-(OLD.impersonation = 0 AND OLD.revoked = 0), -(OLD.impersonation = 0 AND OLD.revoked <> 0),
		-(OLD.impersonation <> 0 AND OLD.revoked = 0), -(OLD.impersonation <> 0 AND OLD.revoked <> 0))
	ON CONFLICT (scope, resource_type, id) DO UPDATE SET n = n + excluded.n, n_revoked = n_revoked + excluded.n_revoked,
		n_imp = n_imp + excluded.n_imp, n_imp_revoked = n_imp_revoked + excluded.n_imp_revoked;
	INSERT INTO {{prefix}}token_counts VALUES (1, '', OLD.user_id,
		-(OLD.impersonation = 0 AND OLD.revoked = 0), -(OLD.impersonation = 0 AND OLD.revoked <> 0),
		-(OLD.impersonation <> 0 AND OLD.revoked = 0), -(OLD.impersonation <> 0 AND OLD.revoked <> 0))
	ON CONFLICT (scope, resource_type, id) DO UPDATE SET n = n + excluded.n, n_revoked = n_revoked + excluded.n_revoked,
		n_imp = n_imp + excluded.n_imp, n_imp_revoked = n_imp_revoked + excluded.n_imp_revoked;
	INSERT INTO {{prefix}}token_counts SELECT 2, OLD.resource_type, OLD.resource_id,
		-(OLD.impersonation = 0 AND OLD.revoked = 0), -(OLD.impersonation = 0 AND OLD.revoked <> 0),
		-(OLD.impersonation <> 0 AND OLD.revoked = 0), -(OLD.impersonation <> 0 AND OLD.revoked <> 0)
	WHERE OLD.resource_type <> ''
	ON CONFLICT (scope, resource_type, id) DO UPDATE SET n = n + excluded.n, n_revoked = n_revoked + excluded.n_revoked,
		n_imp = n_imp + excluded.n_imp, n_imp_revoked = n_imp_revoked + excluded.n_imp_revoked;
END;

-- A token whose counters change but not its scopes (a revocation): each
-- of its scopes by the difference. The rows exist: the token was counted.
CREATE TRIGGER {{prefix}}token_counts_update AFTER UPDATE OF user_id, resource_type, resource_id, impersonation, revoked
ON {{prefix}}tokens
WHEN OLD.user_id IS NEW.user_id AND OLD.resource_type IS NEW.resource_type AND OLD.resource_id IS NEW.resource_id
	AND (OLD.impersonation IS NOT NEW.impersonation OR OLD.revoked IS NOT NEW.revoked)
BEGIN
	UPDATE {{prefix}}token_counts SET
		n = n + (NEW.impersonation = 0 AND NEW.revoked = 0) - (OLD.impersonation = 0 AND OLD.revoked = 0),
		n_revoked = n_revoked + (NEW.impersonation = 0 AND NEW.revoked <> 0) - (OLD.impersonation = 0 AND OLD.revoked <> 0),
		n_imp = n_imp + (NEW.impersonation <> 0 AND NEW.revoked = 0) - (OLD.impersonation <> 0 AND OLD.revoked = 0),
		n_imp_revoked = n_imp_revoked + (NEW.impersonation <> 0 AND NEW.revoked <> 0) - (OLD.impersonation <> 0 AND OLD.revoked <> 0)
	WHERE scope = 0 AND resource_type = '' AND id = 0;
	UPDATE {{prefix}}token_counts SET
		n = n + (NEW.impersonation = 0 AND NEW.revoked = 0) - (OLD.impersonation = 0 AND OLD.revoked = 0),
		n_revoked = n_revoked + (NEW.impersonation = 0 AND NEW.revoked <> 0) - (OLD.impersonation = 0 AND OLD.revoked <> 0),
		n_imp = n_imp + (NEW.impersonation <> 0 AND NEW.revoked = 0) - (OLD.impersonation <> 0 AND OLD.revoked = 0),
		n_imp_revoked = n_imp_revoked + (NEW.impersonation <> 0 AND NEW.revoked <> 0) - (OLD.impersonation <> 0 AND OLD.revoked <> 0)
	WHERE scope = 1 AND resource_type = '' AND id = NEW.user_id;
	UPDATE {{prefix}}token_counts SET
		n = n + (NEW.impersonation = 0 AND NEW.revoked = 0) - (OLD.impersonation = 0 AND OLD.revoked = 0),
		n_revoked = n_revoked + (NEW.impersonation = 0 AND NEW.revoked <> 0) - (OLD.impersonation = 0 AND OLD.revoked <> 0),
		n_imp = n_imp + (NEW.impersonation <> 0 AND NEW.revoked = 0) - (OLD.impersonation <> 0 AND OLD.revoked = 0),
		n_imp_revoked = n_imp_revoked + (NEW.impersonation <> 0 AND NEW.revoked <> 0) - (OLD.impersonation <> 0 AND OLD.revoked <> 0)
	WHERE scope = 2 AND resource_type = NEW.resource_type AND id = NEW.resource_id;
END;

-- A token that moves to another owner or resource: out of its old scopes,
-- into its new ones.
CREATE TRIGGER {{prefix}}token_counts_move AFTER UPDATE OF user_id, resource_type, resource_id, impersonation, revoked
ON {{prefix}}tokens
WHEN OLD.user_id IS NOT NEW.user_id OR OLD.resource_type IS NOT NEW.resource_type OR OLD.resource_id IS NOT NEW.resource_id
BEGIN
	UPDATE {{prefix}}token_counts SET
		n = n + (NEW.impersonation = 0 AND NEW.revoked = 0) - (OLD.impersonation = 0 AND OLD.revoked = 0),
		n_revoked = n_revoked + (NEW.impersonation = 0 AND NEW.revoked <> 0) - (OLD.impersonation = 0 AND OLD.revoked <> 0),
		n_imp = n_imp + (NEW.impersonation <> 0 AND NEW.revoked = 0) - (OLD.impersonation <> 0 AND OLD.revoked = 0),
		n_imp_revoked = n_imp_revoked + (NEW.impersonation <> 0 AND NEW.revoked <> 0) - (OLD.impersonation <> 0 AND OLD.revoked <> 0)
	WHERE scope = 0 AND resource_type = '' AND id = 0;
	UPDATE {{prefix}}token_counts SET
		n = n - (OLD.impersonation = 0 AND OLD.revoked = 0),
		n_revoked = n_revoked - (OLD.impersonation = 0 AND OLD.revoked <> 0),
		n_imp = n_imp - (OLD.impersonation <> 0 AND OLD.revoked = 0),
		n_imp_revoked = n_imp_revoked - (OLD.impersonation <> 0 AND OLD.revoked <> 0)
	WHERE scope = 1 AND resource_type = '' AND id = OLD.user_id;
	UPDATE {{prefix}}token_counts SET
		n = n - (OLD.impersonation = 0 AND OLD.revoked = 0),
		n_revoked = n_revoked - (OLD.impersonation = 0 AND OLD.revoked <> 0),
		n_imp = n_imp - (OLD.impersonation <> 0 AND OLD.revoked = 0),
		n_imp_revoked = n_imp_revoked - (OLD.impersonation <> 0 AND OLD.revoked <> 0)
	WHERE scope = 2 AND resource_type = OLD.resource_type AND id = OLD.resource_id;
	INSERT INTO {{prefix}}token_counts VALUES (1, '', NEW.user_id,
		NEW.impersonation = 0 AND NEW.revoked = 0, NEW.impersonation = 0 AND NEW.revoked <> 0,
		NEW.impersonation <> 0 AND NEW.revoked = 0, NEW.impersonation <> 0 AND NEW.revoked <> 0)
	ON CONFLICT (scope, resource_type, id) DO UPDATE SET n = n + excluded.n, n_revoked = n_revoked + excluded.n_revoked,
		n_imp = n_imp + excluded.n_imp, n_imp_revoked = n_imp_revoked + excluded.n_imp_revoked;
	INSERT INTO {{prefix}}token_counts SELECT 2, NEW.resource_type, NEW.resource_id,
		NEW.impersonation = 0 AND NEW.revoked = 0, NEW.impersonation = 0 AND NEW.revoked <> 0,
		NEW.impersonation <> 0 AND NEW.revoked = 0, NEW.impersonation <> 0 AND NEW.revoked <> 0
	WHERE NEW.resource_type <> ''
	ON CONFLICT (scope, resource_type, id) DO UPDATE SET n = n + excluded.n, n_revoked = n_revoked + excluded.n_revoked,
		n_imp = n_imp + excluded.n_imp, n_imp_revoked = n_imp_revoked + excluded.n_imp_revoked;
END;
