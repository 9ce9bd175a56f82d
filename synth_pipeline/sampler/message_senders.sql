-- Messages per active user (activity skew): count per sender, then a frequency table of those
-- counts. The (sender_id, created_at) index serves it without touching the message rows.
SELECT 'messages_per_user'::text AS metric,
       NULL::text AS label,
       per_user.messages::float8 AS key,
       count(*) AS n,
       NULL::float8 AS v_min, NULL::float8 AS v_max, NULL::numeric AS v_sum
FROM (
    SELECT wm.sender_id, count(*) AS messages
    FROM ({window_messages}) AS wm
    GROUP BY wm.sender_id
) AS per_user
GROUP BY per_user.messages
