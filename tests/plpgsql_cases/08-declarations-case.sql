CREATE FUNCTION declarations(p_id integer, text) RETURNS text LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_limit CONSTANT integer := 10;
  v_name  varchar(40) NOT NULL DEFAULT 'anonymous';
  v_price items.price%TYPE;
  v_item  items%ROWTYPE;
  v_when  timestamp with time zone = now();
  v_ratio double precision := random() * v_limit;
  v_codes text[] DEFAULT ARRAY['a', 'b'];
  v_label text COLLATE "C" := upper($2);
  p_alias ALIAS FOR $1;
  v_json  jsonb := jsonb_build_object('id', p_id, 'at', now());
BEGIN
  DECLARE
    v_inner int := p_alias * 2;
  BEGIN
    v_price := v_inner;
  END;
  RETURN v_name || v_label || v_ratio::text || v_codes[1] || v_json::text;
END;
$$;

CREATE FUNCTION classify(p_status text, p_n int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  v_result text;
BEGIN
  CASE p_status
    WHEN 'new', 'pending' THEN
      v_result := 'open';
    WHEN 'done' THEN
      v_result := 'closed';
    ELSE
      v_result := 'unknown';
  END CASE;

  CASE
    WHEN p_n < 0 THEN v_result := v_result || '-neg';
    WHEN p_n = 0 THEN NULL;
    WHEN p_n BETWEEN 1 AND 9 THEN
      CASE p_n % 2 WHEN 0 THEN v_result := v_result || '-even'; ELSE v_result := v_result || '-odd'; END CASE;
  END CASE;
  RETURN v_result;
END $$;

CREATE FUNCTION tricky_text() RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
  "Mixed Case" text := 'END IF; END LOOP;';  -- keywords inside a string
  s text := $q$ BEGIN RAISE 'not a statement'; END $q$;
  t text := E'it\'s ; END';
BEGIN
  /* END; IF x THEN -- this is a comment, not code */
  "Mixed Case" := "Mixed Case" || ';' || s || t;
  IF position('END' IN "Mixed Case") > 0 THEN  -- END in a condition's string
    RETURN 'has END';
  END IF;
  RETURN $$dollar $$ || "Mixed Case";
END
$fn$;

CREATE FUNCTION arrays_and_records(p jsonb) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE
  arr int[] := '{}';
  rec record;
  i int := 1;
BEGIN
  arr[1] := 10;
  arr[i + 1] = 20;
  arr[2:3] := ARRAY[1, 2];
  SELECT 1 AS a, 'x' AS b INTO rec;
  i := rec.a + coalesce((p->>'n')::int, 0);
  arr := array_append(arr, i);
  RETURN arr;
END $$;

CREATE FUNCTION set_defaults() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.slug IS NULL OR NEW.slug = '' THEN
    NEW.slug := lower(regexp_replace(NEW.title, '[^a-z0-9]+', '-', 'gi'));
  END IF;
  NEW.search := to_tsvector('simple', coalesce(NEW.title, '') || ' ' || coalesce(NEW.body, ''));
  IF TG_OP = 'UPDATE' THEN
    IF NEW.title IS DISTINCT FROM OLD.title OR NEW.body IS DISTINCT FROM OLD.body THEN
      NEW.revision := OLD.revision + 1;
      INSERT INTO post_revisions (post_id, revision, title, body)
      VALUES (OLD.id, OLD.revision, OLD.title, OLD.body);
    ELSE
      RETURN OLD;
    END IF;
  END IF;
  RETURN NEW;
END $$;

CREATE FUNCTION noop_when_unchanged() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF ROW(NEW.*) IS NOT DISTINCT FROM ROW(OLD.*) THEN RETURN NULL; END IF; RETURN NEW; END $$;

CREATE FUNCTION empty_body() RETURNS void LANGUAGE plpgsql AS $$BEGIN END$$;
