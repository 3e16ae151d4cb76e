-- Generated catalog cases: functions and procedures.
SET search_path = app, public;

CREATE FUNCTION touch_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.score := coalesce(NEW.score, 0);
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION app.count_members(p_org bigint, OUT members integer, OUT admins integer)
LANGUAGE sql STABLE AS $body$
    SELECT count(*)::int, count(*) FILTER (WHERE role = 'a')::int
    FROM app.memberships WHERE org_id = p_org
$body$;

CREATE FUNCTION app.greet(name text DEFAULT 'world', VARIADIC rest text[] DEFAULT '{}')
RETURNS text IMMUTABLE STRICT LANGUAGE sql AS 'SELECT ''hello '' || name';

CREATE FUNCTION app.user_rows(p_org app.orgs.id%TYPE)
RETURNS SETOF app.users LANGUAGE sql STABLE
RETURN (SELECT u FROM app.users u WHERE u.org_id = p_org LIMIT 1);

CREATE FUNCTION app.user_table(IN p_org bigint, INOUT p_limit int)
RETURNS int LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'app, public' AS $$
BEGIN
    p_limit := p_limit + 1;
END $$;

CREATE FUNCTION app.report(p_from date, p_to timestamp with time zone)
RETURNS TABLE (org text, total bigint)
LANGUAGE sql SECURITY DEFINER
SET search_path = app, pg_temp
BEGIN ATOMIC
    SELECT o.name, count(*) FROM app.orgs o GROUP BY o.name;
END;

CREATE FUNCTION app.log_change() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = ''
AS $fn$
BEGIN
    INSERT INTO "Audit"."Log Entries" ("Payload") VALUES (to_jsonb(NEW));
    RETURN NULL;
END
$fn$;

CREATE FUNCTION app.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;

CREATE PROCEDURE app.rebuild(p_org bigint, OUT p_done boolean)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$ BEGIN p_done := true; END $$;

CREATE FUNCTION public.double_it(double precision) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE COST 1 RETURN $1 * 2;

CREATE FUNCTION public.check_row() RETURNS trigger LANGUAGE plpgsql AS '
BEGIN
    IF NEW.label = ''x'' THEN RAISE EXCEPTION ''no x''; END IF;
    RETURN NEW;
END';

CREATE OR REPLACE FUNCTION public.check_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RETURN NEW; END $$;

CREATE FUNCTION public.stamp_a() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE FUNCTION public.stamp_b() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE FUNCTION public.stamp_c() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;

ALTER FUNCTION app.greet(text, text[]) SECURITY DEFINER SET search_path = public;
ALTER FUNCTION app.count_members(bigint) RENAME TO member_counts;
ALTER FUNCTION public.double_it SET SCHEMA app;
ALTER FUNCTION app.user_table(bigint, int) SECURITY INVOKER RESET search_path;
