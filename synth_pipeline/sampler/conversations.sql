-- Everything that needs the messages of one conversation in time order, in one pass over the
-- window (the (conversation_id, created_at) index delivers that order without a sort):
--   per conversation: messages, kind, participants (and heavy rooms, as HMAC tokens);
--   per message: the hour of week and the gap to the previous message of its conversation.
-- Gaps are counted in geometric micro-bins (key k covers [floor*e^(k/R), floor*e^((k+1)/R)),
-- key -1 everything below floor); their exact count, min, max and sum (in whole microseconds,
-- exact whatever the plan's summation order) come from the () set.
-- Only frequency tables, 168 hour counts, micro-bin counts and heavy-room tokens come back.
WITH per_message AS (
    SELECT wm.conversation_id,
           floor(date_part('epoch', wm.created_at) / 3600)::bigint AS hour,
           date_part('epoch', wm.created_at - lag(wm.created_at)
                     OVER (PARTITION BY wm.conversation_id ORDER BY wm.created_at)) AS gap
    FROM ({window_messages}) AS wm
),
grouped AS MATERIALIZED (
    -- grouping_set: 3 = per conversation, 5 = per hour, 6 = per gap micro-bin, 7 = grand total
    SELECT GROUPING(keyed.conversation_id, keyed.hour, keyed.gap_key) AS grouping_set,
           keyed.conversation_id, keyed.hour, keyed.gap_key,
           count(*) AS n, count(keyed.gap) AS gaps,
           min(keyed.gap) AS gap_min, max(keyed.gap) AS gap_max,
           sum((keyed.gap * 1000000)::bigint) AS gap_sum_us
    FROM (
        SELECT per_message.*,
               CASE WHEN per_message.gap < %(seconds_floor)s::float8 THEN -1
                    ELSE floor(ln(per_message.gap / %(seconds_floor)s::float8) * %(micro_bins_per_e)s::float8)::int
               END AS gap_key
        FROM per_message
    ) AS keyed
    GROUP BY GROUPING SETS ((keyed.conversation_id), (keyed.hour), (keyed.gap_key), ())
),
participant_counts AS (
    SELECT p.conversation_id, count(*) AS participants
    FROM ({participants_source}) AS p
    GROUP BY p.conversation_id
),
active AS MATERIALIZED (
    SELECT g.conversation_id,
           g.n AS messages,
           CASE WHEN c.{c_kind} = 'direct' THEN 'direct' ELSE 'group' END AS kind,
           coalesce(pc.participants, 0) AS participants
    FROM grouped AS g
    JOIN {conversations} AS c ON c.{c_id} = g.conversation_id
    LEFT JOIN participant_counts AS pc ON pc.conversation_id = g.conversation_id
    WHERE g.grouping_set = 3
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
SELECT 'hour_of_week', NULL, (mod(hour / 24 + 3, 7) * 24 + mod(hour, 24))::float8, sum(n)::bigint, NULL, NULL, NULL
FROM grouped WHERE grouping_set = 5 GROUP BY 3
UNION ALL
SELECT 'inter_arrival', NULL, gap_key::float8, n, NULL, NULL, NULL
FROM grouped WHERE grouping_set = 6 AND gap_key IS NOT NULL
UNION ALL
SELECT 'inter_arrival_stats', NULL, NULL, gaps, gap_min, gap_max, gap_sum_us
FROM grouped WHERE grouping_set = 7
UNION ALL
-- Heavy rooms leave the server only as HMAC-SHA256(salt, id) tokens (statements.TOKEN_EXPRESSION);
-- n carries the room's participant count.
SELECT 'heavy_room', {room_token}, messages::float8, participants, NULL, NULL, NULL
FROM active WHERE messages > %(heavy_room_threshold)s::bigint
