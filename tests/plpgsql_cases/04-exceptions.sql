CREATE FUNCTION merge_db(key int, data text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  LOOP
    UPDATE db SET b = data WHERE a = key;
    IF found THEN
      RETURN;
    END IF;
    BEGIN
      INSERT INTO db(a, b) VALUES (key, data);
      RETURN;
    EXCEPTION WHEN unique_violation THEN
      -- another session inserted the key first: loop and try the UPDATE again
    END;
  END LOOP;
END;
$$;

CREATE FUNCTION safe_transfer(p_from int, p_to int, p_amount numeric) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  v_state text;
  v_msg text;
  v_detail text;
BEGIN
  ASSERT p_amount > 0, 'amount must be positive';
  UPDATE accounts SET balance = balance - p_amount WHERE id = p_from;
  UPDATE accounts SET balance = balance + p_amount WHERE id = p_to;
  RETURN true;
EXCEPTION
  WHEN check_violation OR SQLSTATE '23514' THEN
    RAISE NOTICE 'insufficient funds in %', p_from;
    RETURN false;
  WHEN others THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE,
                            v_msg = MESSAGE_TEXT,
                            v_detail := PG_EXCEPTION_DETAIL;
    INSERT INTO transfer_errors (state, message, detail) VALUES (v_state, v_msg, v_detail);
    RAISE;
END;
$$;

CREATE FUNCTION raise_levels(p int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE DEBUG 'debug %', p;
  RAISE LOG 'log';
  RAISE INFO 'info % %', p, p + 1;
  RAISE NOTICE USING MESSAGE = 'notice via option';
  RAISE WARNING 'warning' USING DETAIL = 'some detail', HINT = 'a hint';
  IF p < 0 THEN
    RAISE division_by_zero;
  ELSIF p = 0 THEN
    RAISE SQLSTATE '22012' USING MESSAGE = 'zero';
  ELSEIF p > 1000 THEN
    RAISE 'too big: %', p USING ERRCODE = 'numeric_value_out_of_range';
  END IF;
END $$;

CREATE FUNCTION nested_handlers() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  n integer := 0;
BEGIN
  <<outer_block>>
  BEGIN
    <<inner_block>>
    DECLARE
      d numeric;
    BEGIN
      d := 1 / n;
    EXCEPTION
      WHEN division_by_zero THEN
        n := -1;
        BEGIN
          PERFORM 1 / 0;
        EXCEPTION WHEN OTHERS THEN
          n := -2;
        END;
    END inner_block;
  END outer_block;
  RETURN n;
END;
$$;

CREATE FUNCTION lock_or_skip(p_id bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM jobs WHERE id = p_id FOR UPDATE NOWAIT;
  UPDATE jobs SET state = 'running', attempts = attempts + 1 WHERE id = p_id;
  RETURN true;
EXCEPTION
  WHEN lock_not_available THEN
    RETURN false;
END $$;
