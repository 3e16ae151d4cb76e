-- Generated catalog cases: DDL that DO blocks and routines run.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'orgs_log') THEN
        CREATE TRIGGER orgs_log AFTER INSERT ON app.orgs
            FOR EACH ROW EXECUTE FUNCTION app.log_change();
    END IF;
    BEGIN
        CREATE TABLE app.settings (key text PRIMARY KEY, value jsonb);
    EXCEPTION WHEN duplicate_table THEN
        NULL;
    END;
END $$;

DO $do$
DECLARE
    target text := 'settings';
BEGIN
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON app.%I FOR EACH ROW EXECUTE FUNCTION %s()',
                   target || '_touch', target, 'public.stamp_a');
    EXECUTE 'ALTER TABLE app.settings ADD COLUMN updated_at timestamptz';
END
$do$;

CREATE PROCEDURE app.add_audit(tbl text, cond text DEFAULT 'true')
LANGUAGE plpgsql AS $p$
BEGIN
    EXECUTE format('CREATE TRIGGER %s_audit AFTER UPDATE ON app.%I FOR EACH ROW WHEN (%s)'
                   ' EXECUTE FUNCTION app.log_change(%L)', tbl, tbl, cond, tbl);
END $p$;

CALL app.add_audit('settings', $$ OLD.value IS DISTINCT FROM NEW.value $$);

CREATE FUNCTION app.make_log_table(suffix text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE 'CREATE TABLE IF NOT EXISTS app.log_' || suffix || ' (id bigint, at timestamptz)';
END $f$;

SELECT app.make_log_table('2024');

DO 'BEGIN EXECUTE ''DROP TRIGGER IF EXISTS item_check ON app.base_item''; END';
