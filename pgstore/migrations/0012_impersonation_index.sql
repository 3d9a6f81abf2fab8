-- patkit pgstore migration 0012: tokens_user_impersonation_idx, one
-- owner's impersonation tokens.
--
-- A list of one user's impersonation tokens (GET
-- /users/:id/impersonation_tokens) read the owner's index of all tokens,
-- tokens_user_idx, and passed over every personal token: for an owner of
-- 10,000 tokens, about 2 ms (an index-only scan of 9,990 entries) to find
-- ten impersonation tokens. This partial index holds the impersonation
-- tokens only, and INCLUDEs the columns the filters read, so a page and a
-- count read those and nothing else; a personal token is not written to
-- it. List writes the predicate as the index has it (impersonation), and
-- plans such a list for its arguments. Building it locks writes out of
-- tokens for the time it takes (a scan of the table: a few seconds at a
-- million tokens).
CREATE INDEX IF NOT EXISTS tokens_user_impersonation_idx ON tokens (user_id, id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at)
    WHERE impersonation;
