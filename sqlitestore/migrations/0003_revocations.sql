-- 0003: patkit_revocations, the log of revoked tokens that Store.Watch
-- reads to tell every process on the file which cached tokens to drop.
--
-- The trigger writes it in the transaction that revokes, whoever revokes:
-- Revoke, Rotate, or the host's own UPDATE. seq only grows (AUTOINCREMENT
-- never reuses one). The Store prunes the oldest rows, and records in
-- patkit_meta ('revocations_pruned') the highest seq it deleted, so that a
-- reader behind it knows it has missed some.
CREATE TABLE {{prefix}}patkit_revocations (
	seq      INTEGER PRIMARY KEY AUTOINCREMENT,
	token_id INTEGER NOT NULL
);

CREATE TRIGGER {{prefix}}tokens_revoked AFTER UPDATE OF revoked ON {{prefix}}tokens
FOR EACH ROW WHEN NEW.revoked <> 0 AND OLD.revoked = 0
BEGIN
	INSERT INTO {{prefix}}patkit_revocations (token_id) VALUES (NEW.id);
END;
