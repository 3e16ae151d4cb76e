CREATE OR REPLACE PROCEDURE archive_sessions(p_before timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
  n integer;
BEGIN
  WITH moved AS (
    DELETE FROM chat_sessions
     WHERE last_message_at < p_before
    RETURNING *
  )
  INSERT INTO chat_sessions_archive SELECT * FROM moved;
  GET DIAGNOSTICS n = ROW_COUNT;
  COMMIT;
  IF n > 0 THEN
    CALL refresh_usage_rollup(p_before);
    COMMIT AND CHAIN;
  ELSE
    ROLLBACK;
  END IF;
END;
$$;

CREATE PROCEDURE refresh_usage_rollup(p_since timestamptz) LANGUAGE plpgsql AS $$
BEGIN
  MERGE INTO usage_rollup r
  USING (SELECT user_id, count(*) AS n FROM chat_messages WHERE created_at >= p_since GROUP BY user_id) s
     ON r.user_id = s.user_id
   WHEN MATCHED THEN UPDATE SET messages = r.messages + s.n
   WHEN NOT MATCHED THEN INSERT (user_id, messages) VALUES (s.user_id, s.n);
  ROLLBACK AND NO CHAIN;
END $$;

CREATE FUNCTION top_users(p_limit int)
RETURNS TABLE (user_id uuid, messages bigint) LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY
    SELECT u.user_id, sum(u.messages_sent)::bigint
      FROM user_usage_daily u
     GROUP BY u.user_id
     ORDER BY 2 DESC
     LIMIT p_limit;
  RETURN QUERY EXECUTE 'SELECT user_id, 0::bigint FROM profiles WHERE banned LIMIT $1' USING p_limit;
END;
$$;

CREATE FUNCTION into_positions(p_id int, OUT o_name text, OUT o_price numeric) LANGUAGE plpgsql AS $$
DECLARE
  v_count int;
  v_row items%ROWTYPE;
BEGIN
  SELECT INTO o_name, o_price name, price FROM items WHERE id = p_id;
  SELECT name INTO o_name FROM items WHERE id = p_id;
  SELECT count(*) FROM items INTO v_count;
  SELECT * INTO STRICT v_row FROM items WHERE id = p_id;
  INSERT INTO items (name, price) VALUES ('x', 1) RETURNING id INTO v_count;
  UPDATE items SET price = price * 1.1 WHERE id = p_id RETURNING price INTO o_price;
  DELETE FROM items WHERE id = -p_id RETURNING name INTO o_name;
  WITH ins AS (INSERT INTO items (name) VALUES ('y') RETURNING id)
  SELECT id INTO v_count FROM ins;
END $$;

CREATE FUNCTION misc_sql() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  LOCK TABLE items IN SHARE ROW EXCLUSIVE MODE;
  TRUNCATE staging_items;
  NOTIFY items_changed;
  SET LOCAL search_path = public;
  CREATE TEMP TABLE IF NOT EXISTS scratch (id int);
  DROP TABLE IF EXISTS scratch;
  ANALYZE items;
END $$;

DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
    EXECUTE format('ANALYZE %I', r.tablename);
  END LOOP;
END
$$;

DO LANGUAGE plpgsql $do$
BEGIN
  PERFORM pg_notify('setup', 'done');
  CALL archive_sessions(now() - interval '90 days');
END $do$;
