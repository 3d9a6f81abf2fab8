-- 0016: a zone's greatest expiry is its tokens' greatest, without the
-- hour of slack of 0015.
--
-- An expiry is midnight UTC of its date, and a zone held its greatest
-- plus an hour: a list of the tokens expiring after a time up to an hour
-- past midnight (now plus 180 days, run at 00:46 UTC) met every zone
-- whose tokens expire on that date and not after. In benchtable's dataset,
-- whose thousand tokens in use, one every thousand IDs, expire 180 days
-- from its creation, that was every zone (977, against 247 whose tokens
-- do expire after), and the walks of the list from the zones' seek read
-- the whole order before its first match: 15.7 to 106 ms a page instead
-- of under 2. The slack spares a write of the zone where a token's key
-- is within the hour of its greatest; expiries, a day apart, never were.
--
-- The trigger of 0015 is written again with the exact expiry, and each
-- zone's greatest expiry computed from its tokens (977 zones at 1,000,000
-- tokens, each a range of IDs), in the migration's write transaction.
DROP TRIGGER {{prefix}}tokens_zone_keys_widen;

CREATE TRIGGER {{prefix}}tokens_zone_keys_widen INSTEAD OF INSERT ON {{prefix}}tokens_zone_keys
BEGIN
	INSERT INTO {{prefix}}tokens_zones VALUES (NEW.id >> 10, NEW.created_at, NEW.created_at + 3600000000,
		coalesce(NEW.expires_at, 9223372036854775807), NEW.expires_at, NEW.expires_at IS NULL,
		coalesce(NEW.last_used_at, 9223372036854775807), NEW.last_used_at + 3600000000, NEW.last_used_at IS NULL,
		NEW.name, NEW.name)
	ON CONFLICT (zone) DO UPDATE SET
		created_lo = min(created_lo, excluded.created_lo), created_hi = max(created_hi, excluded.created_hi),
		expires_lo = min(expires_lo, excluded.expires_lo),
		expires_hi = coalesce(max(expires_hi, excluded.expires_hi), expires_hi, excluded.expires_hi),
		expires_never = max(expires_never, excluded.expires_never),
		used_lo = min(used_lo, excluded.used_lo),
		used_hi = coalesce(max(used_hi, excluded.used_hi), used_hi, excluded.used_hi),
		used_never = max(used_never, excluded.used_never),
		name_lo = min(name_lo, excluded.name_lo), name_hi = max(name_hi, excluded.name_hi)
	WHERE excluded.created_lo < created_lo OR NEW.created_at > created_hi
		OR excluded.expires_lo < expires_lo OR NEW.expires_at > coalesce(expires_hi, -9223372036854775808)
		OR excluded.expires_never > expires_never
		OR excluded.used_lo < used_lo OR NEW.last_used_at > coalesce(used_hi, -9223372036854775808)
		OR excluded.used_never > used_never
		OR excluded.name_lo < name_lo OR excluded.name_hi > name_hi;
END;

UPDATE {{prefix}}tokens_zones SET expires_hi = (SELECT max(expires_at) FROM {{prefix}}tokens
	WHERE id BETWEEN zone << 10 AND ((zone + 1) << 10) - 1);
