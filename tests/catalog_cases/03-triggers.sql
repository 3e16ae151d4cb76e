-- Generated catalog cases: triggers, rules, event triggers.
CREATE TRIGGER users_touch
    BEFORE UPDATE OF score, tags ON app.users
    FOR EACH ROW
    WHEN (NEW.score IS DISTINCT FROM OLD.score)
    EXECUTE FUNCTION app.touch_updated();

CREATE TRIGGER users_log AFTER INSERT OR UPDATE OR DELETE ON app.users
    FOR EACH ROW EXECUTE PROCEDURE app.log_change('users', 42, 1.5, Audit);

CREATE TRIGGER users_truncate AFTER TRUNCATE ON app.users
    FOR EACH STATEMENT EXECUTE FUNCTION app.log_change();

CREATE TRIGGER orgs_batch AFTER UPDATE ON app.orgs
    REFERENCING OLD TABLE AS old_orgs NEW TABLE AS new_orgs
    FOR EACH STATEMENT EXECUTE FUNCTION app.log_change();

CREATE CONSTRAINT TRIGGER memberships_check AFTER INSERT OR UPDATE ON app.memberships
    FROM app.orgs DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION app.log_change();

CREATE TRIGGER events_stamp BEFORE INSERT ON app.events
    FOR EACH ROW EXECUTE FUNCTION app.touch_updated();

CREATE TRIGGER emails_insert INSTEAD OF INSERT ON app.user_emails
    FOR EACH ROW EXECUTE FUNCTION app.log_change();

CREATE TRIGGER item_check BEFORE INSERT ON app.base_item
    FOR EACH ROW EXECUTE FUNCTION public.check_row();

CREATE TRIGGER "Mixed Case" AFTER DELETE ON "Audit"."Log Entries"
    FOR EACH ROW EXECUTE FUNCTION public.stamp_a();

CREATE TRIGGER noop_guard BEFORE UPDATE ON app.orgs
    FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();

CREATE OR REPLACE TRIGGER users_truncate AFTER TRUNCATE ON app.users
    FOR EACH STATEMENT EXECUTE FUNCTION public.stamp_b();

CREATE TRIGGER scratch_a BEFORE INSERT ON app.scratch FOR EACH ROW EXECUTE FUNCTION public.stamp_a();
CREATE TRIGGER scratch_b BEFORE INSERT ON app.scratch FOR EACH ROW EXECUTE FUNCTION public.stamp_b();
CREATE TRIGGER scratch_c BEFORE INSERT ON app.scratch FOR EACH ROW EXECUTE FUNCTION public.stamp_c();

CREATE RULE scratch_log AS ON DELETE TO app.scratch DO ALSO NOTIFY scratch;

CREATE EVENT TRIGGER app_ddl ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
    EXECUTE FUNCTION app.on_ddl();
