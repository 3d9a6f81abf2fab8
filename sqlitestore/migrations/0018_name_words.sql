-- 0018: tokens_words, the number of tokens whose folded name holds each
-- word, for the count of a search of all tokens by one word.
--
-- GitLab's rule needs the count of a list up to 10,001. A search of all
-- tokens by a word that many names hold counted its matches by reading
-- tokens_name_folded until 10,001 names held the word: at 1,000,000
-- tokens (benchtable's dataset, where "deploy" is in one name in five),
-- 50,000 names and 3.4 ms (sqlite3 3.40.1) of a first page's 7.5 to 8.3
-- ms (benchtable's list-shapes-sqlite). A token whose name has the word
-- among its words (name_folded split at spaces) holds it, so this
-- table's row of the word, less the tokens the list's other filters leave
-- out (token_counts), bounds the count from below; above 10,000 the count
-- is 10,001 without reading a name (sqlq.Dialect.Count).
--
-- As tokens_fts, the table is kept by the Store in the transaction of a
-- batch of writes every few hundred creates, not by a trigger: it counts
-- the tokens up to the ID patkit_meta records (words_indexed), which only
-- lowers the bound. Words of fewer than 3 characters, which a search by
-- words never looks for, are left out. Tokens are never deleted, nor
-- renamed. The Store counts the words of the tokens already there when it
-- next migrates, right after this migration.
CREATE TABLE {{prefix}}tokens_words (
	word TEXT    PRIMARY KEY,
	n    INTEGER NOT NULL
) WITHOUT ROWID;
