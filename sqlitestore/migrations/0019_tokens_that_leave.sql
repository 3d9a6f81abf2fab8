-- 0019: a token that tokens_fts (0014) or tokens_words (0018) counts and
-- that leaves, deleted or renamed in the host's own SQL, leaves them too.
--
-- Both are kept by the Store up to a token ID (names_indexed,
-- words_indexed), not by triggers, since the Store never deletes or
-- renames a token; a host may. tokens_fts is an external-content index:
-- a search read the name of a deleted token from the table for its
-- candidates, and failed ("fts5: missing row ... from content table"),
-- so every search of all tokens by words answered an error after a
-- host's DELETE. These triggers take a counted token's old name out of
-- tokens_fts (FTS5's 'delete' command, with the name it indexed) and put
-- its new name in where its ID is still counted.
--
-- tokens_words counts a token under every word of its name, and the
-- count of a search of all tokens by a word takes the word's row as a
-- number of tokens that hold it: a token that left and was still counted
-- could make a count answer 10,001 where fewer match. Splitting the old
-- name into its words needs a recursive query, which SQLite does not
-- allow in a trigger, so these triggers add -1 to the row of the empty
-- word (no search looks for it: a search's words have 3 characters or
-- more), which the count adds to every word's row: each token that left
-- takes one away from every word, the most it can have counted in any.
-- The bound stays lower for good; to count afresh, delete every row of
-- tokens_words and the words_indexed row of patkit_meta, and the next
-- Migrate counts every token.
CREATE TRIGGER {{prefix}}tokens_names_delete AFTER DELETE ON {{prefix}}tokens
WHEN OLD.id <= coalesce((SELECT value FROM {{prefix}}patkit_meta WHERE name = 'names_indexed'), 0)
BEGIN
	INSERT INTO {{prefix}}tokens_fts ({{prefix}}tokens_fts, rowid, name_folded) VALUES ('delete', OLD.id, OLD.name_folded);
END;

CREATE TRIGGER {{prefix}}tokens_names_rename AFTER UPDATE OF name_folded, id ON {{prefix}}tokens
WHEN OLD.id <= coalesce((SELECT value FROM {{prefix}}patkit_meta WHERE name = 'names_indexed'), 0)
	AND (OLD.name_folded IS NOT NEW.name_folded OR OLD.id IS NOT NEW.id)
BEGIN
	INSERT INTO {{prefix}}tokens_fts ({{prefix}}tokens_fts, rowid, name_folded) VALUES ('delete', OLD.id, OLD.name_folded);
	INSERT INTO {{prefix}}tokens_fts (rowid, name_folded) SELECT NEW.id, NEW.name_folded
	WHERE NEW.id <= coalesce((SELECT value FROM {{prefix}}patkit_meta WHERE name = 'names_indexed'), 0);
END;

CREATE TRIGGER {{prefix}}tokens_words_delete AFTER DELETE ON {{prefix}}tokens
WHEN OLD.id <= coalesce((SELECT value FROM {{prefix}}patkit_meta WHERE name = 'words_indexed'), 0)
BEGIN
	INSERT INTO {{prefix}}tokens_words (word, n) VALUES ('', -1) ON CONFLICT (word) DO UPDATE SET n = n - 1;
END;

CREATE TRIGGER {{prefix}}tokens_words_rename AFTER UPDATE OF name_folded, id ON {{prefix}}tokens
WHEN OLD.id <= coalesce((SELECT value FROM {{prefix}}patkit_meta WHERE name = 'words_indexed'), 0)
	AND (OLD.name_folded IS NOT NEW.name_folded OR OLD.id IS NOT NEW.id)
BEGIN
	INSERT INTO {{prefix}}tokens_words (word, n) VALUES ('', -1) ON CONFLICT (word) DO UPDATE SET n = n - 1;
END;
