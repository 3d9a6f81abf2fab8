-- 0020: a counted token that leaves tokens_words (0018), deleted or
-- renamed in the host's own SQL, takes its own words out of it, and a
-- renamed one that is still counted puts its new name's words in; and a
-- token whose ID a host moves down to a counted one is indexed and
-- counted.
--
-- 0019's triggers added -1 to the row of the empty word for each such
-- token, which the count added to every word's row: SQLite allows no
-- recursive query in a trigger to split the old name. json_each splits
-- it without one: the folded name, quoted as a JSON string (json_quote,
-- whose escapes hold no space), with each space made the end of one
-- string and the start of the next, is a JSON array of the pieces
-- between spaces, those of 3 characters or more the words the Store
-- counts (sqlitestore's indexNames), each once (IN). So the table counts
-- exactly the words of the tokens up to words_indexed, whatever the host
-- deletes or renames, where under 0019 every token that left lowered
-- the bound of every word for good: a host that prunes old tokens would
-- have lost the bound.
--
-- 0019's rename triggers ran only for a token whose old ID was counted:
-- one moved from above names_indexed (or words_indexed) to below it was
-- then never indexed nor counted, since the Store indexes the IDs above
-- those. Both now run where either ID is counted, each half for the ID
-- it concerns (FTS5's delete command only for a row the index holds).
--
-- A database where a token left under 0019 (the empty word has a row)
-- counts its words afresh: the rows and words_indexed are deleted here,
-- and Migrate counts every token (8 s at 1,000,000 tokens, sqlite3).
DELETE FROM {{prefix}}patkit_meta WHERE name = 'words_indexed'
	AND EXISTS (SELECT 1 FROM {{prefix}}tokens_words WHERE word = '');
DELETE FROM {{prefix}}tokens_words WHERE EXISTS (SELECT 1 FROM {{prefix}}tokens_words WHERE word = '');

DROP TRIGGER {{prefix}}tokens_words_delete;
DROP TRIGGER {{prefix}}tokens_words_rename;

CREATE TRIGGER {{prefix}}tokens_words_delete AFTER DELETE ON {{prefix}}tokens
WHEN OLD.id <= coalesce((SELECT value FROM {{prefix}}patkit_meta WHERE name = 'words_indexed'), 0)
BEGIN
	UPDATE {{prefix}}tokens_words SET n = n - 1 WHERE word IN (SELECT value
		FROM json_each('[' || replace(json_quote(OLD.name_folded), ' ', '","') || ']') WHERE length(value) >= 3);
END;

CREATE TRIGGER {{prefix}}tokens_words_rename AFTER UPDATE OF name_folded, id ON {{prefix}}tokens
WHEN (OLD.name_folded IS NOT NEW.name_folded OR OLD.id IS NOT NEW.id)
	AND min(OLD.id, NEW.id) <= coalesce((SELECT value FROM {{prefix}}patkit_meta WHERE name = 'words_indexed'), 0)
BEGIN
	UPDATE {{prefix}}tokens_words SET n = n - 1 WHERE word IN (SELECT value
		FROM json_each('[' || replace(json_quote(OLD.name_folded), ' ', '","') || ']') WHERE length(value) >= 3)
		AND OLD.id <= coalesce((SELECT value FROM {{prefix}}patkit_meta WHERE name = 'words_indexed'), 0);
	INSERT INTO {{prefix}}tokens_words (word, n) SELECT DISTINCT value, 1
		FROM json_each('[' || replace(json_quote(NEW.name_folded), ' ', '","') || ']')
		WHERE length(value) >= 3 AND NEW.id <= coalesce((SELECT value FROM {{prefix}}patkit_meta WHERE name = 'words_indexed'), 0)
		ON CONFLICT (word) DO UPDATE SET n = n + 1;
END;

DROP TRIGGER {{prefix}}tokens_names_rename;

CREATE TRIGGER {{prefix}}tokens_names_rename AFTER UPDATE OF name_folded, id ON {{prefix}}tokens
WHEN (OLD.name_folded IS NOT NEW.name_folded OR OLD.id IS NOT NEW.id)
	AND min(OLD.id, NEW.id) <= coalesce((SELECT value FROM {{prefix}}patkit_meta WHERE name = 'names_indexed'), 0)
BEGIN
	INSERT INTO {{prefix}}tokens_fts ({{prefix}}tokens_fts, rowid, name_folded) SELECT 'delete', OLD.id, OLD.name_folded
	WHERE OLD.id <= coalesce((SELECT value FROM {{prefix}}patkit_meta WHERE name = 'names_indexed'), 0);
	INSERT INTO {{prefix}}tokens_fts (rowid, name_folded) SELECT NEW.id, NEW.name_folded
	WHERE NEW.id <= coalesce((SELECT value FROM {{prefix}}patkit_meta WHERE name = 'names_indexed'), 0);
END;
