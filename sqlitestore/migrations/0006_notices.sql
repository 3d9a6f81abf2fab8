-- 0006: the expiry notices (patkit.Token.Notices, patkit.NoticeClaimer).
--
-- One column per notice, when it was claimed (Unix microseconds; NULL: not
-- sent), named after GitLab's columns of personal_access_tokens, and
-- notice, the latest notice claimed or skipped (0 none, 1 sixty days, 2
-- thirty days, 3 seven days, 4 expired), which the claim reads. The claim
-- looks for the tokens of a notice's window that have had no notice that
-- late: notice IN (0, ..., n-1) and expires_at in a range, one seek of
-- tokens_notice for each value of notice. That index holds only the
-- tokens that may still get a notice (not revoked, with an expiry, not yet
-- notified of it): a claim reads the tokens it claims and nothing else.
--
-- Tokens already expired when this migration runs are marked notified of
-- their expiry now, so that upgrading does not send a notice for every
-- token that expired in the past.
ALTER TABLE {{prefix}}tokens ADD COLUMN notice INTEGER NOT NULL DEFAULT 0;
ALTER TABLE {{prefix}}tokens ADD COLUMN sixty_days_notification_sent_at INTEGER;
ALTER TABLE {{prefix}}tokens ADD COLUMN thirty_days_notification_sent_at INTEGER;
ALTER TABLE {{prefix}}tokens ADD COLUMN seven_days_notification_sent_at INTEGER;
ALTER TABLE {{prefix}}tokens ADD COLUMN after_expiry_notification_sent_at INTEGER;

UPDATE {{prefix}}tokens
SET notice = 4, after_expiry_notification_sent_at = CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)
WHERE revoked = 0 AND expires_at IS NOT NULL AND expires_at <= CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER);

CREATE INDEX {{prefix}}tokens_notice ON {{prefix}}tokens (notice, expires_at)
WHERE revoked = 0 AND expires_at IS NOT NULL AND notice < 4;
