-- Message length in characters, by device, over the window: one sequential scan of the messages.
-- Result: a frequency table (device label, length, messages), bounded by 4 x distinct lengths.
SELECT 'message_length'::text AS metric,
       wm.device AS label,
       char_length(wm.content)::float8 AS key,
       count(*) AS n,
       NULL::float8 AS v_min, NULL::float8 AS v_max, NULL::numeric AS v_sum
FROM ({window_messages}) AS wm
GROUP BY wm.device, char_length(wm.content)
