-- Generated catalog cases: name resolution through search_path.
CREATE TABLE plain (id int);
SET search_path TO app, public;
CREATE TABLE in_app (id int, user_id int REFERENCES users);
CREATE FUNCTION resolved() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER in_app_resolved BEFORE INSERT ON in_app FOR EACH ROW EXECUTE FUNCTION resolved();
CREATE TRIGGER plain_resolved BEFORE INSERT ON plain FOR EACH ROW EXECUTE FUNCTION resolved();
SET search_path = public;
CREATE TABLE after_reset (id int);
SELECT pg_catalog.set_config('search_path', 'archive, public', false);
CREATE TABLE in_archive (id int);
