-- patkit pgstore migration 0020: token_words, the number of tokens whose
-- name holds each word, so that List counts a search of all tokens by a
-- word many names hold from a row instead of reading 50,000 names.
--
-- GitLab's rule needs the count of a list up to 10,001. A search of all
-- tokens by a word one name in five holds (benchtable's "deploy", at
-- 1,000,000 tokens) counted by testing names, ILIKE, until 10,001
-- matched: 50,000 rows and 21 to 36 ms of each first page in
-- list-shapes-postgres. A token whose lower-cased name has the word among
-- its words (split at spaces) holds it, so this table's row of the word,
-- less the tokens the list's other filters leave out (token_counts),
-- bounds the count from below; above 10,000 the count is 10,001 without
-- reading a name (sqlq.Dialect.Count).
--
-- A bound from below may leave tokens out, and this one does: it counts
-- the tokens up to the ID token_words_mark records (upto), which
-- token_words_catch_up() moves to the highest ID, counting the words of
-- the tokens between. The Store calls it when it migrates and after
-- every create whose ID is a multiple of 256, so that a create writes no
-- row of it: a trigger that counted each create's words cost 60 to 150 µs
-- per single-row insert on a scratch table (pgbench), a fifth of a
-- create. A token committed after a catch-up counted beyond it is never
-- counted, which only lowers the bound.
--
-- A token may still leave: a host's DELETE, or an UPDATE of its name or
-- ID, takes the words of the tokens up to upto away, so that the table
-- never counts a word a token no longer holds; TRUNCATE empties it. These
-- triggers take the mark's row FOR SHARE, and a catch-up FOR UPDATE: a
-- token deleted while a catch-up counts it is taken away once that
-- catch-up has committed (the trigger then reads its upto), and a
-- catch-up after a delete has committed no longer sees the token.
--
-- Names are unqualified, and the functions keep the search_path of the
-- migration (SET search_path FROM CURRENT): run it with search_path set
-- to the schema, in one transaction. Running it again counts the tokens
-- above upto (benchtable loads its tokens, then runs it).

CREATE TABLE IF NOT EXISTS token_words (
    word text   PRIMARY KEY,
    n    bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS token_words_mark (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    upto bigint  NOT NULL
);
INSERT INTO token_words_mark (one, upto) VALUES (true, 0) ON CONFLICT (one) DO NOTHING;

-- The words of a name: lower-cased as ILIKE compares it, split at
-- spaces, each once, of 3 characters or more (a search by words never
-- looks for a shorter one).
CREATE OR REPLACE FUNCTION token_words_of(name text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE AS $$
    SELECT DISTINCT w FROM unnest(string_to_array(lower(name), ' ')) AS w WHERE char_length(w) >= 3
$$;

CREATE OR REPLACE FUNCTION token_words_catch_up() RETURNS bigint
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v_from bigint;
    v_to   bigint;
BEGIN
    SELECT upto INTO v_from FROM token_words_mark FOR UPDATE;
    -- A new snapshot, taken with the lock: every token committed by now.
    SELECT coalesce(max(id), 0) INTO v_to FROM tokens;
    IF v_to <= v_from THEN
        RETURN 0;
    END IF;
    INSERT INTO token_words AS c (word, n)
    SELECT w, count(*) FROM tokens AS t CROSS JOIN LATERAL token_words_of(t.name) AS w
    WHERE t.id > v_from AND t.id <= v_to
    GROUP BY w ORDER BY w
    ON CONFLICT (word) DO UPDATE SET n = c.n + excluded.n;
    UPDATE token_words_mark SET upto = v_to;
    RETURN v_to - v_from;
END $$;

CREATE OR REPLACE FUNCTION token_words_forget() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v_upto bigint;
BEGIN
    SELECT upto INTO v_upto FROM token_words_mark FOR SHARE;
    IF TG_LEVEL = 'ROW' THEN
        IF OLD.id <= v_upto THEN
            UPDATE token_words SET n = n - 1 WHERE word IN (SELECT token_words_of(OLD.name));
        END IF;
        RETURN NULL;
    END IF;
    UPDATE token_words AS c SET n = c.n - d.n
    FROM (SELECT w, count(*) AS n FROM old_tokens AS t CROSS JOIN LATERAL token_words_of(t.name) AS w
          WHERE t.id <= v_upto GROUP BY w) AS d
    WHERE c.word = d.w;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION token_words_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM FROM token_words_mark FOR UPDATE;
    DELETE FROM token_words;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS token_words_delete ON tokens;
CREATE TRIGGER token_words_delete AFTER DELETE ON tokens
    REFERENCING OLD TABLE AS old_tokens FOR EACH STATEMENT EXECUTE FUNCTION token_words_forget();
DROP TRIGGER IF EXISTS token_words_update ON tokens;
CREATE TRIGGER token_words_update AFTER UPDATE OF name, id ON tokens
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION token_words_forget();
DROP TRIGGER IF EXISTS token_words_truncate ON tokens;
CREATE TRIGGER token_words_truncate AFTER TRUNCATE ON tokens
    FOR EACH STATEMENT EXECUTE FUNCTION token_words_truncate();

-- The words of the tokens already there.
SELECT token_words_catch_up();
