-- patkit pgstore migration 0006: when and how a token was revoked, and the
-- networks it is bound to.
--
-- revoked_at is the time of the revocation, by the patkit Service's clock,
-- NULL for a token not revoked and for one revoked before this migration.
-- rotated is true for a token revoked by its rotation and by nothing else
-- since: only such a token may authenticate within a grace window
-- (patkit.Options.RotationGrace); tokens revoked before this migration
-- have none. allowed_cidrs are the networks the token authenticates from,
-- canonical ('10.0.0.0/8'), '{}' for anywhere.
--
-- Names are unqualified: run it with search_path set to the schema. It is
-- idempotent.
ALTER TABLE tokens ADD COLUMN IF NOT EXISTS revoked_at timestamptz;
ALTER TABLE tokens ADD COLUMN IF NOT EXISTS rotated boolean NOT NULL DEFAULT false;
ALTER TABLE tokens ADD COLUMN IF NOT EXISTS allowed_cidrs text[] NOT NULL DEFAULT '{}';
