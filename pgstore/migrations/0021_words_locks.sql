-- patkit pgstore migration 0021: the triggers that take a leaving
-- token's words out of token_words (0020) queue on token_words_mark's
-- row and count a renamed token's new words, a catch-up passes when
-- another transaction holds that row, and TRUNCATE counts the words
-- again from the first ID.
--
-- 0020's triggers took the mark's row FOR SHARE, which two of them hold
-- at once, and then updated the rows of their words in the order of
-- their plans (the row trigger of an UPDATE of names, token by token, in
-- the order of the statement's rows): two statements that renamed or
-- deleted tokens sharing words in opposite orders could each hold a
-- word's row the other waited for, and PostgreSQL aborted one of them
-- (deadlock detected), where without the triggers they touched different
-- rows. Each now takes the mark's row FOR UPDATE, as a catch-up does,
-- before any row of token_words: the transactions that take words away
-- run one after the other from there, and never wait for each other in
-- a cycle over token_words. patkit itself never deletes or renames a
-- token; a host's concurrent deletes wait for each other's commit.
--
-- An UPDATE of a token's name or ID now also counts its new name's
-- words where its new ID is counted (up to upto), as a catch-up would
-- have: under 0020 a renamed token was counted under no word for good,
-- and one whose ID a host moved down below upto was never counted. The
-- table then counts exactly the words of the tokens up to upto.
--
-- A catch-up no longer waits for the mark's row: where another
-- transaction holds it (a host's delete or rename not yet committed,
-- another catch-up), it counts nothing and returns 0, and a later
-- catch-up counts the same tokens. The Store runs one after a create
-- whose ID is a multiple of 256, before returning: under 0020 such a
-- create waited for the host's transaction to end.
--
-- TRUNCATE now also sets upto to 0: no token is left to have been
-- counted, and tokens created afterwards whose IDs start again from 1
-- (RESTART IDENTITY) were never counted under 0020, and their deletes
-- took words away from tokens that were.
--
-- Run it with search_path set to the schema, in one transaction, after
-- 0020.

CREATE OR REPLACE FUNCTION token_words_catch_up() RETURNS bigint
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v_from bigint;
    v_to   bigint;
BEGIN
    SELECT upto INTO v_from FROM token_words_mark FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
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
    SELECT upto INTO v_upto FROM token_words_mark FOR UPDATE;
    IF TG_LEVEL = 'ROW' THEN
        IF OLD.id <= v_upto THEN
            UPDATE token_words SET n = n - 1 WHERE word IN (SELECT token_words_of(OLD.name));
        END IF;
        IF NEW.id <= v_upto THEN
            INSERT INTO token_words AS c (word, n) SELECT w, 1 FROM token_words_of(NEW.name) AS w ORDER BY w
            ON CONFLICT (word) DO UPDATE SET n = c.n + 1;
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
    UPDATE token_words_mark SET upto = 0;
    DELETE FROM token_words;
    RETURN NULL;
END $$;
