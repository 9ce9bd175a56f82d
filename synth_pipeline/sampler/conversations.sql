-- One ordered pass over the window's messages per conversation, through the (conversation_id,
-- created_at) index without touching the rows: every conversation's message times (whole
-- microseconds since 1970, exact) become one array, in time order. From the arrays:
-- - per message: its hour (folded into the 168 hours of the week) and the gap to the next
--   message of its conversation, in geometric micro-bins (key k covers
--   [floor*e^(k/R), floor*e^((k+1)/R)), key -1 everything below floor), with the gaps' exact
--   count, min, max and sum (whole microseconds: the gaps of a conversation add up to its last
--   time minus its first, exact whatever the plan's summation order);
-- - per conversation: messages, kind and participants (heavy rooms as HMAC tokens).
-- Only frequency tables, hour counts, the gap statistics and tokens come back.
--
-- Why arrays: a lag() window function over 2.5M rows costs about three times as much as
-- unnesting each conversation's array beside itself shifted by one (docs/sampler.md, "Speed").
-- date_part('epoch') is a float8 exact to 0.12 us before the year 2255, so rounding it times 10^6
-- gives the exact microsecond.
WITH per_conversation AS MATERIALIZED (
    SELECT wm.conversation_id,
           array_agg((date_part('epoch', wm.created_at) * 1000000)::bigint ORDER BY wm.created_at) AS times_us
    FROM ({window_messages}) AS wm
    GROUP BY wm.conversation_id
),
per_message AS (
    -- set-returning functions in one select list run in lockstep: row i holds time i and time
    -- i+1, so the gap to the next message (NULL for the conversation's last message)
    SELECT shifted.time_us, shifted.next_us - shifted.time_us AS gap_us
    FROM (
        SELECT unnest(pc.times_us) AS time_us, unnest(pc.times_us[2:]) AS next_us FROM per_conversation AS pc
    ) AS shifted
),
grouped AS (
    -- grouping_set: 1 = per hour since 1970, 2 = per gap micro-bin (NULL: no gap). Every aggregate
    -- runs for every grouping set, so only the cheap ones are here (the gaps' sum comes from the arrays).
    SELECT GROUPING(keyed.hour, keyed.gap_key) AS grouping_set, keyed.hour, keyed.gap_key,
           count(*) AS n, min(keyed.gap_us) AS gap_min_us, max(keyed.gap_us) AS gap_max_us
    FROM (
        SELECT (pm.time_us - mod(mod(pm.time_us, 3600000000) + 3600000000, 3600000000)) / 3600000000 AS hour,
               CASE WHEN pm.gap_us < %(seconds_floor)s::float8 * 1000000 THEN -1
                    ELSE floor(ln(pm.gap_us / (%(seconds_floor)s::float8 * 1000000)) * %(micro_bins_per_e)s::float8)::int
               END AS gap_key,
               pm.gap_us
        FROM per_message AS pm
    ) AS keyed
    GROUP BY GROUPING SETS ((keyed.hour), (keyed.gap_key))
),
participant_counts AS (
    SELECT p.conversation_id, count(*) AS participants
    FROM ({participants_source}) AS p
    GROUP BY p.conversation_id
),
active AS MATERIALIZED (
    SELECT pc.conversation_id,
           cardinality(pc.times_us) AS messages,
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
-- Heavy rooms leave the server only as HMAC-SHA256(salt, id) tokens (statements.TOKEN_EXPRESSION);
-- n carries the room's participant count.
SELECT 'heavy_room', {room_token}, messages::float8, participants, NULL, NULL, NULL
FROM active WHERE messages > %(heavy_room_threshold)s::bigint
UNION ALL
-- ISO weekday (Monday = 0) of day d since 1970-01-01, a Thursday: (d + 3) mod 7 (floored: d may be negative)
SELECT 'hour_of_week', NULL, (mod(mod(day + 3, 7) + 7, 7) * 24 + hour - day * 24)::float8, sum(n)::bigint, NULL, NULL, NULL
FROM (SELECT hour, (hour - mod(mod(hour, 24) + 24, 24)) / 24 AS day, n FROM grouped WHERE grouping_set = 1) AS hours
GROUP BY 3
UNION ALL
SELECT 'inter_arrival', NULL, gap_key::float8, n, NULL, NULL, NULL
FROM grouped WHERE grouping_set = 2 AND gap_key IS NOT NULL
UNION ALL
SELECT 'inter_arrival_stats', NULL, NULL, sum(n)::bigint, min(gap_min_us)::float8 / 1000000, max(gap_max_us)::float8 / 1000000,
       (SELECT sum(pc.times_us[cardinality(pc.times_us)] - pc.times_us[1]) FROM per_conversation AS pc)
FROM grouped WHERE grouping_set = 2 AND gap_key IS NOT NULL
HAVING count(*) > 0
