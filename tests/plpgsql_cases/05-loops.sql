CREATE FUNCTION fizzbuzz(n int) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP
    IF i % 15 = 0 THEN
      RETURN NEXT 'fizzbuzz';
    ELSIF i % 5 = 0 THEN
      RETURN NEXT 'buzz';
    ELSIF i % 3 = 0 THEN
      RETURN NEXT 'fizz';
    ELSE
      RETURN NEXT i::text;
    END IF;
  END LOOP;
END;
$$;

CREATE FUNCTION countdown(n int) RETURNS SETOF int LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN REVERSE n..1 BY 2 LOOP
    RETURN NEXT i;
  END LOOP;
  FOR j IN 1 .. n * 2 LOOP
    CONTINUE WHEN j % 2 = 0;
    RETURN NEXT j;
  END LOOP;
  RETURN;
END $$;

CREATE FUNCTION matrix_rows(m int[]) RETURNS SETOF int[] LANGUAGE plpgsql AS $$
DECLARE
  row_ int[];
  total int := 0;
  x int;
BEGIN
  FOREACH row_ SLICE 1 IN ARRAY m LOOP
    RETURN NEXT row_;
  END LOOP;
  FOREACH x IN ARRAY m
  LOOP
    total := total + x;
  END LOOP;
  RAISE NOTICE 'total %', total;
END $$;

CREATE FUNCTION labelled_loops(limit_ int) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  i integer := 0;
  j integer;
BEGIN
  <<outer_loop>>
  LOOP
    i := i + 1;
    EXIT outer_loop WHEN i > limit_;
    j := 0;
    <<inner_loop>>
    WHILE j < i LOOP
      j := j + 1;
      CONTINUE outer_loop WHEN j = 3;
      EXIT inner_loop WHEN j > 10;
      IF j = 7 THEN
        EXIT;
      END IF;
    END LOOP inner_loop;
  END LOOP outer_loop;
  RETURN i;
END;
$$;

CREATE FUNCTION recount_all_sessions() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  s record;
  n integer := 0;
BEGIN
  FOR s IN
    SELECT id
      FROM chat_sessions
     WHERE archived_at IS NULL
     ORDER BY id
  LOOP
    UPDATE chat_sessions
       SET message_count = (SELECT count(*) FROM chat_messages m WHERE m.session_id = s.id)
     WHERE id = s.id;
    n := n + 1;
  END LOOP;
  WHILE n > 1000 LOOP
    n := n / 2;
  END LOOP;
  RETURN n;
END $$;

CREATE FUNCTION multi_target_loop() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  a int;
  b text;
  total int := 0;
BEGIN
  FOR a, b IN SELECT id, name FROM items LOOP
    total := total + a + length(b);
  END LOOP;
  RETURN total;
END $$;
