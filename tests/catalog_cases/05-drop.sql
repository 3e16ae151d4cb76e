-- Generated catalog cases: drops.
CREATE TABLE app.doomed (id int PRIMARY KEY);
CREATE TABLE app.doomed_child (id int, doomed_id int REFERENCES app.doomed);
CREATE TRIGGER doomed_stamp BEFORE INSERT ON app.doomed FOR EACH ROW EXECUTE FUNCTION public.stamp_a();
DROP TABLE app.doomed CASCADE;
DROP TABLE IF EXISTS app.never_existed;
DROP VIEW IF EXISTS app.no_view;
DROP TRIGGER IF EXISTS scratch_a ON app.scratchpad;
DROP TRIGGER scratch_b ON app.scratchpad;
DROP FUNCTION public.stamp_c(), public.stamp_b() CASCADE;
DROP FUNCTION IF EXISTS public.nothing_here(int);
DROP MATERIALIZED VIEW app.org_sizes;
DROP FUNCTION app.greet;
DROP PROCEDURE app.rebuild(bigint);
