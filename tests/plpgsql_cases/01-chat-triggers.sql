-- The motivating chat schema: session stats recomputed on every message write, usage
-- tracked per day, and the fixed variants that only count real inserts.

CREATE OR REPLACE FUNCTION public.update_session_stats()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public
AS $$
DECLARE
  v_session_id uuid;
  v_count integer := 0;
  v_tokens bigint;
BEGIN
  IF TG_OP = 'DELETE' THEN
    v_session_id := OLD.session_id;
  ELSE
    v_session_id := NEW.session_id;
  END IF;

  SELECT count(*), coalesce(sum(token_count), 0)
    INTO v_count, v_tokens
    FROM chat_messages
   WHERE session_id = v_session_id;

  UPDATE chat_sessions
     SET message_count = v_count,
         total_tokens = v_tokens,
         last_message_at = now()
   WHERE id = v_session_id;

  IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' THEN
    PERFORM track_user_usage(NEW.user_id, 1, coalesce(NEW.token_count, 0));
  END IF;

  RETURN coalesce(NEW, OLD);
END;
$$;

CREATE OR REPLACE FUNCTION public.track_user_usage(p_user_id uuid, p_messages integer, p_tokens integer)
RETURNS void
LANGUAGE plpgsql
AS $function$
BEGIN
  INSERT INTO user_usage_daily AS u (user_id, day, messages_sent, tokens_used)
  VALUES (p_user_id, current_date, p_messages, p_tokens)
  ON CONFLICT (user_id, day) DO UPDATE
     SET messages_sent = u.messages_sent + EXCLUDED.messages_sent,
         tokens_used = u.tokens_used + EXCLUDED.tokens_used;

  UPDATE profiles
     SET usage_stats = jsonb_set(
           jsonb_set(coalesce(usage_stats, '{}'::jsonb),
                     '{messages_sent}',
                     to_jsonb(coalesce((usage_stats->>'messages_sent')::int, 0) + p_messages)),
           '{tokens_used}',
           to_jsonb(coalesce((usage_stats->>'tokens_used')::int, 0) + p_tokens))
   WHERE id = p_user_id;
END;
$function$;

CREATE FUNCTION public.touch_chat_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at = now();
  IF NEW.message_count IS DISTINCT FROM OLD.message_count THEN
    NEW.activity_score := coalesce(OLD.activity_score, 0) + 1;
  END IF;
  RETURN NEW;
END $$;

-- Fixed: usage only counts real inserts, stats are maintained incrementally.
CREATE OR REPLACE FUNCTION public.update_session_stats_fixed()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE chat_sessions
       SET message_count = message_count + 1,
           total_tokens = total_tokens + coalesce(NEW.token_count, 0)
     WHERE id = NEW.session_id;
    PERFORM track_user_usage(NEW.user_id, 1, coalesce(NEW.token_count, 0));
  ELSIF TG_OP = 'UPDATE' THEN
    IF NEW.token_count IS DISTINCT FROM OLD.token_count THEN
      UPDATE chat_sessions
         SET total_tokens = total_tokens + coalesce(NEW.token_count, 0) - coalesce(OLD.token_count, 0)
       WHERE id = NEW.session_id;
    END IF;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE chat_sessions
       SET message_count = greatest(message_count - 1, 0),
           total_tokens = total_tokens - coalesce(OLD.token_count, 0)
     WHERE id = OLD.session_id;
    RETURN OLD;
  END IF;
  RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION public.sync_messages(p_session uuid, p_messages jsonb)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  m jsonb;
  n integer := 0;
BEGIN
  FOR m IN SELECT * FROM jsonb_array_elements(p_messages) LOOP
    INSERT INTO chat_messages (id, session_id, role, content, token_count)
    VALUES ((m->>'id')::uuid, p_session, m->>'role', m->>'content', (m->>'tokens')::int)
    ON CONFLICT (id) DO UPDATE
       SET content = EXCLUDED.content,
           token_count = EXCLUDED.token_count;
    n := n + 1;
  END LOOP;
  RETURN n;
END;
$$;

CREATE FUNCTION public.guard_message_role() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.role NOT IN ('user', 'assistant', 'system') THEN
    RAISE EXCEPTION 'invalid role %', NEW.role USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.session_id <> OLD.session_id THEN
    RAISE EXCEPTION 'messages cannot move between sessions';
  END IF;
  RETURN NEW;
END $$;
