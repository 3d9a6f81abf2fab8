-- 0014: a trigram index of the folded names, for searches by words of all
-- tokens.
--
-- A search by words (each a substring of name_folded) cannot range over a
-- B-tree. Across all tokens its count reads every folded name from
-- tokens_name_folded until MaxCount+1 match, and its page either walks
-- the index of its order, reading each name from the table, or reads the
-- names again when the count says the matches are few: for a word few
-- names hold, the count reads all of them. At 1,000,000 tokens
-- (benchtable's dataset, this machine), a first page of the 20 tokens
-- named with "12345" took 135 to 138 ms that way, and 0.18 to 0.55 s
-- when the page walked the order.
--
-- tokens_fts is an FTS5 table of the folded names with the trigram
-- tokenizer: a GLOB '*word*' reads from it the tokens that hold the
-- word's trigrams (a superset of the matches: the lists keep the exact
-- condition, instr(name_folded, word)), 0.45 to 0.85 ms for a rare word
-- on a copy of that file with sqlite3 3.40.1. External content
-- (content='tokens'): the table holds the names, the index only the
-- trigrams; detail='none' keeps no positions and columnsize=0 no sizes,
-- which GLOB needs neither of.
--
-- Triggers that kept it up to date in each write cost 27% of the durable
-- creates of one writer (2.92k/s to 2.13k/s) and 33% of sixteen (7.14k/s
-- to 4.82k/s; benchtable's create-sqlite rows), as every transaction
-- wrote an FTS5 segment of its own. Instead the Store indexes the names of
-- the tokens created since the last time every few hundred creates, in the
-- transaction of a batch of writes, and records in patkit_meta
-- (names_indexed) the highest ID indexed: a search reads the tokens above
-- it from the table, by ID. Tokens are never deleted, nor renamed.
--
-- The cost: building it over 1,000,000 tokens took 3.5 s and grew the
-- file by 13 MB (of 770 MB), on that copy, holding the write lock (reads
-- go on: WAL).
CREATE VIRTUAL TABLE {{prefix}}tokens_fts USING fts5(name_folded, content='{{prefix}}tokens', content_rowid='id',
	tokenize='trigram case_sensitive 1', detail='none', columnsize=0);
INSERT INTO {{prefix}}tokens_fts ({{prefix}}tokens_fts) VALUES ('rebuild');
INSERT INTO {{prefix}}patkit_meta (name, value) SELECT 'names_indexed', coalesce(max(id), 0) FROM {{prefix}}tokens;
