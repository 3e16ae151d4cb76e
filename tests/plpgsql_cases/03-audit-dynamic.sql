CREATE OR REPLACE FUNCTION audit.log_row_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
  v_old jsonb;
  v_new jsonb;
  v_target text := coalesce(TG_ARGV[0], 'audit_log');
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    v_old := to_jsonb(OLD);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    v_new := to_jsonb(NEW);
  END IF;
  IF TG_OP = 'UPDATE' AND v_old = v_new THEN
    RETURN NEW;  -- nothing changed: skip the log row
  END IF;
  EXECUTE format('INSERT INTO audit.%I (table_name, op, old_row, new_row, changed_at)
                  VALUES ($1, $2, $3, $4, now())', v_target)
    USING TG_TABLE_NAME, TG_OP, v_old, v_new;
  RETURN coalesce(NEW, OLD);
END;
$$;

CREATE FUNCTION partition_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_partition text := TG_TABLE_NAME || '_' || to_char(NEW.created_at, 'YYYY_MM');
BEGIN
  BEGIN
    EXECUTE 'INSERT INTO ' || quote_ident(v_partition) || ' SELECT ($1).*' USING NEW;
  EXCEPTION WHEN undefined_table THEN
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING ALL)', v_partition, TG_TABLE_NAME);
    EXECUTE format('INSERT INTO %I SELECT ($1).*', v_partition) USING NEW;
  END;
  RETURN NULL;
END $$;

CREATE FUNCTION count_rows(p_table regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  EXECUTE 'SELECT count(*) FROM ' || p_table INTO STRICT n;
  RETURN n;
END $$;

CREATE FUNCTION purge_old(p_days int) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  r record;
  v_deleted integer;
BEGIN
  FOR r IN EXECUTE 'SELECT schemaname, tablename FROM pg_tables WHERE tablename LIKE $1'
      USING 'log_%'
  LOOP
    EXECUTE format('DELETE FROM %I.%I WHERE created_at < now() - $1 * interval ''1 day''',
                   r.schemaname, r.tablename)
      USING p_days;
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    RETURN NEXT r.tablename || ': ' || v_deleted;
  END LOOP;
  RETURN;
END;
$$;

CREATE FUNCTION set_tenant_column() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_col text := TG_ARGV[0];
BEGIN
  EXECUTE format('SELECT ($1).%I', v_col) INTO NEW.tenant_id USING NEW;
  IF NEW.tenant_id IS NULL THEN
    NEW.tenant_id := current_setting('app.tenant_id', true)::uuid;
  END IF;
  RETURN NEW;
END $$;
