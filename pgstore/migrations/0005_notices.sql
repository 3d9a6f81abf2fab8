-- patkit pgstore migration 0005: the expiry notices (patkit.Token.Notices,
-- patkit.NoticeClaimer).
--
-- One column per notice, when it was claimed (NULL: not sent), named after
-- GitLab's columns of personal_access_tokens, and notice, the latest
-- notice claimed or skipped (0 none, 1 sixty days, 2 thirty days, 3 seven
-- days, 4 expired), which the claim reads. The claim looks for the tokens
-- of a notice's window that have had no notice that late: notice IN (0,
-- ..., n-1) and expires_at in a range, through tokens_notice_idx, which
-- holds only the tokens that may still get a notice (not revoked, with an
-- expiry, not yet notified of it): a claim reads the tokens it claims and
-- nothing else.
--
-- Tokens already expired when the columns are added are marked notified
-- of their expiry then, so that upgrading does not send a notice for
-- every token that expired in the past. The columns and that mark are
-- made once, whoever runs the migration again.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_schema = current_schema() AND table_name = 'tokens' AND column_name = 'notice') THEN
        ALTER TABLE tokens
            ADD COLUMN notice smallint NOT NULL DEFAULT 0,
            ADD COLUMN sixty_days_notification_sent_at timestamptz,
            ADD COLUMN thirty_days_notification_sent_at timestamptz,
            ADD COLUMN seven_days_notification_sent_at timestamptz,
            ADD COLUMN after_expiry_notification_sent_at timestamptz;
        UPDATE tokens SET notice = 4, after_expiry_notification_sent_at = now()
        WHERE NOT revoked AND expires_at <= now();
    END IF;
END $$;

CREATE INDEX IF NOT EXISTS tokens_notice_idx ON tokens (notice, expires_at)
    WHERE NOT revoked AND expires_at IS NOT NULL AND notice < 4;
