-- 0007: when and how a token was revoked, and the networks it is bound to.
--
-- revoked_at is the time of the revocation (Unix microseconds, UTC, by the
-- patkit Service's clock), NULL for a token not revoked and for one revoked
-- before this migration. rotated is 1 for a token revoked by its rotation
-- and by nothing else since: only such a token may authenticate within a
-- grace window (patkit.Options.RotationGrace); tokens revoked before this
-- migration have none. allowed_cidrs is the JSON array of the networks the
-- token authenticates from, canonical ("10.0.0.0/8"), '[]' for anywhere.
ALTER TABLE {{prefix}}tokens ADD COLUMN revoked_at INTEGER;
ALTER TABLE {{prefix}}tokens ADD COLUMN rotated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE {{prefix}}tokens ADD COLUMN allowed_cidrs TEXT NOT NULL DEFAULT '[]';

-- The revocation log of Watch now also records a revoked token whose grace
-- window ends (rotated back to 0): other processes must drop it too.
DROP TRIGGER IF EXISTS {{prefix}}tokens_revoked;
CREATE TRIGGER {{prefix}}tokens_revoked AFTER UPDATE OF revoked, rotated ON {{prefix}}tokens
FOR EACH ROW WHEN NEW.revoked <> 0 AND (OLD.revoked = 0 OR OLD.rotated <> 0 AND NEW.rotated = 0)
BEGIN
	INSERT INTO {{prefix}}patkit_revocations (token_id) VALUES (NEW.id);
END;
