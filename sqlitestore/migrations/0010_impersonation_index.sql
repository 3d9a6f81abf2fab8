-- 0010: tokens_user_impersonation, one owner's impersonation tokens.
--
-- A list of one user's impersonation tokens (GET
-- /users/:id/impersonation_tokens) read the owner's index of all tokens,
-- tokens_user, and passed over every personal token: for an owner of
-- 10,000 tokens, 1 to 4 ms to find a few impersonation tokens, or none.
-- This partial index holds the impersonation tokens only, with the
-- columns the filters read, so a page and a count read those and nothing
-- else; a personal token is not written to it. List reads it by name
-- (INDEXED BY): without statistics, SQLite rates it the same as
-- tokens_user. Its predicate is the bare column, as List writes it.
CREATE INDEX {{prefix}}tokens_user_impersonation ON {{prefix}}tokens (user_id, id,
	coalesce(expires_at, 9223372036854775807), revoked, created_at, coalesce(last_used_at, 9223372036854775807))
	WHERE impersonation;
