CREATE OR REPLACE FUNCTION maintain_comment_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  CASE TG_OP
    WHEN 'INSERT' THEN
      UPDATE posts SET comment_count = comment_count + 1 WHERE id = NEW.post_id;
    WHEN 'DELETE' THEN
      UPDATE posts SET comment_count = comment_count - 1 WHERE id = OLD.post_id;
    WHEN 'UPDATE' THEN
      IF NEW.post_id IS DISTINCT FROM OLD.post_id THEN
        UPDATE posts SET comment_count = comment_count - 1 WHERE id = OLD.post_id;
        UPDATE posts SET comment_count = comment_count + 1 WHERE id = NEW.post_id;
      END IF;
  END CASE;
  RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION bump_like_counter() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  affected integer;
BEGIN
  UPDATE posts
     SET like_count = like_count + CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END
   WHERE id = coalesce(NEW.post_id, OLD.post_id);
  GET DIAGNOSTICS affected = ROW_COUNT;
  IF affected = 0 THEN
    RAISE WARNING 'post % vanished', coalesce(NEW.post_id, OLD.post_id);
  END IF;
  RETURN coalesce(NEW, OLD);
END $$;

CREATE FUNCTION daily_stats_upsert() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  IF (TG_OP = 'INSERT') THEN
    INSERT INTO daily_stats (day, orders, revenue)
    VALUES (date_trunc('day', NEW.created_at)::date, 1, NEW.amount)
    ON CONFLICT (day) DO UPDATE
      SET orders = daily_stats.orders + 1,
          revenue = daily_stats.revenue + EXCLUDED.revenue;
  ELSIF (TG_OP = 'UPDATE') THEN
    UPDATE daily_stats
       SET revenue = revenue - OLD.amount + NEW.amount
     WHERE day = date_trunc('day', NEW.created_at)::date;
  ELSE
    UPDATE daily_stats
       SET orders = orders - 1, revenue = revenue - OLD.amount
     WHERE day = date_trunc('day', OLD.created_at)::date;
  END IF;
  RETURN NULL;
END;
$body$;

CREATE FUNCTION refresh_profile_counters() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_stats jsonb;
BEGIN
  SELECT usage_stats INTO v_stats FROM profiles WHERE id = NEW.user_id FOR UPDATE;
  v_stats := jsonb_set(coalesce(v_stats, '{}'), '{posts}',
                       to_jsonb(coalesce((v_stats->>'posts')::int, 0) + 1), true);
  UPDATE profiles SET usage_stats = v_stats WHERE id = NEW.user_id;
  RETURN NEW;
END $$;

CREATE FUNCTION inventory_reserve() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_available integer;
BEGIN
  SELECT quantity - reserved
    FROM inventory
   WHERE sku = NEW.sku
    INTO STRICT v_available;
  IF v_available < NEW.quantity THEN
    RAISE EXCEPTION USING
      MESSAGE = format('only %s of %s left', v_available, NEW.sku),
      ERRCODE = 'P0001',
      HINT = 'reduce the quantity';
  END IF;
  UPDATE inventory SET reserved = reserved + NEW.quantity WHERE sku = NEW.sku;
  RETURN NEW;
EXCEPTION
  WHEN no_data_found THEN
    RAISE EXCEPTION 'unknown sku %', NEW.sku;
END;
$$;
