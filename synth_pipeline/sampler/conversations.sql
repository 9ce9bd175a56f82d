-- Per active conversation: messages in the window, kind and participants (heavy rooms as HMAC
-- tokens); per hour: messages (folded into the 168 hours of the week). The (conversation_id,
-- created_at) index delivers the window's messages grouped by conversation without touching the
-- rows. Only frequency tables, hour counts and tokens come back.
WITH grouped AS MATERIALIZED (
    -- grouping_set: 1 = per conversation, 2 = per hour since 1970
    SELECT GROUPING(wm.conversation_id, floor(date_part('epoch', wm.created_at) / 3600)::bigint) AS grouping_set,
           wm.conversation_id,
           floor(date_part('epoch', wm.created_at) / 3600)::bigint AS hour,
           count(*) AS messages
    FROM ({window_messages}) AS wm
    GROUP BY GROUPING SETS ((wm.conversation_id), (floor(date_part('epoch', wm.created_at) / 3600)::bigint))
),
per_conversation AS (
    SELECT conversation_id, messages FROM grouped WHERE grouping_set = 1
),
participant_counts AS (
    SELECT p.conversation_id, count(*) AS participants
    FROM ({participants_source}) AS p
    GROUP BY p.conversation_id
),
active AS MATERIALIZED (
    SELECT pc.conversation_id,
           pc.messages,
           CASE WHEN c.{c_kind} = 'direct' THEN 'direct' ELSE 'group' END AS kind,
           coalesce(parts.participants, 0) AS participants
    FROM per_conversation AS pc
    JOIN {conversations} AS c ON c.{c_id} = pc.conversation_id
    LEFT JOIN participant_counts AS parts ON parts.conversation_id = pc.conversation_id
)
SELECT 'messages_per_conversation'::text AS metric, NULL::text AS label, messages::float8 AS key,
       count(*) AS n, NULL::float8 AS v_min, NULL::float8 AS v_max, NULL::numeric AS v_sum
FROM active GROUP BY messages
UNION ALL
SELECT 'participants_per_conversation', NULL, participants::float8, count(*), NULL, NULL, NULL
FROM active GROUP BY participants
UNION ALL
SELECT 'participants_per_group', NULL, participants::float8, count(*), NULL, NULL, NULL
FROM active WHERE kind = 'group' GROUP BY participants
UNION ALL
-- v_sum carries the participant rows of the active conversations of that kind
SELECT 'conversation_kind', kind, NULL, count(*), NULL, NULL, sum(participants)::numeric
FROM active GROUP BY kind
UNION ALL
-- 1970-01-01 was a Thursday: ISO weekday (Monday = 0) of day d is (d + 3) mod 7
SELECT 'hour_of_week', NULL, (mod(hour / 24 + 3, 7) * 24 + mod(hour, 24))::float8, sum(messages)::bigint, NULL, NULL, NULL
FROM grouped WHERE grouping_set = 2 GROUP BY 3
UNION ALL
-- Heavy rooms leave the server only as HMAC-SHA256(salt, id) tokens (statements.TOKEN_EXPRESSION);
-- n carries the room's participant count.
SELECT 'heavy_room', {room_token}, messages::float8, participants, NULL, NULL, NULL
FROM active WHERE messages > %(heavy_room_threshold)s::bigint
