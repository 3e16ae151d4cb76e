CREATE FUNCTION cursor_walk() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  c_items CURSOR FOR SELECT id, price FROM items ORDER BY id;
  c_by_cat NO SCROLL CURSOR (p_cat int) IS SELECT id FROM items WHERE category = p_cat;
  rec record;
  total integer := 0;
BEGIN
  OPEN c_items;
  LOOP
    FETCH c_items INTO rec;
    EXIT WHEN NOT FOUND;
    total := total + rec.price;
  END LOOP;
  CLOSE c_items;

  FOR r IN c_by_cat(3) LOOP
    total := total + 1;
  END LOOP;

  OPEN c_by_cat(p_cat := 4);
  MOVE FORWARD 2 FROM c_by_cat;
  FETCH NEXT FROM c_by_cat INTO rec;
  FETCH LAST IN c_by_cat INTO rec;
  CLOSE c_by_cat;
  RETURN total;
END;
$$;

CREATE FUNCTION open_refcursor(p_table text) RETURNS refcursor LANGUAGE plpgsql AS $$
DECLARE
  rc refcursor := 'items_cursor';
  rc2 refcursor;
  n int;
BEGIN
  OPEN rc SCROLL FOR SELECT * FROM items WHERE price > 10;
  OPEN rc2 FOR EXECUTE format('SELECT count(*) FROM %I WHERE id > $1', p_table) USING 5;
  FETCH rc2 INTO n;
  CLOSE rc2;
  MOVE ABSOLUTE 3 IN rc;
  RETURN rc;
END $$;

CREATE FUNCTION cursor_loop_bound() RETURNS SETOF bigint LANGUAGE plpgsql AS $$
DECLARE
  cur CURSOR FOR SELECT id FROM chat_sessions;
BEGIN
  FOR s IN cur LOOP
    RETURN NEXT s.id;
  END LOOP;
END $$;
