-- Message length in characters, by device, over the window: one sequential scan of the messages.
-- Result: a frequency table (device label, length, messages), bounded by 4 x distinct lengths.
-- v_sum counts the messages of the receipt sample (ids that are multiples of the modulus).
SELECT 'message_length'::text AS metric,
       wm.device AS label,
       char_length(wm.content)::float8 AS key,
       count(*) AS n,
       NULL::float8 AS v_min, NULL::float8 AS v_max,
       sum(CASE WHEN mod(wm.id, %(receipt_modulus)s::bigint) = 0 THEN 1 ELSE 0 END)::numeric AS v_sum
FROM ({window_messages}) AS wm
GROUP BY wm.device, char_length(wm.content)
