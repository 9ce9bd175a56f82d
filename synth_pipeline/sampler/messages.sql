-- The one sequential scan of the window's messages: length in characters by device (grouped on
-- the raw device column, normalised to the known labels afterwards, on a few thousand groups
-- instead of every message), and the smallest and largest message id of the window, which never
-- leave the server: they bound the attachments branch (attachments.sql) to the window's id range.
-- Result: a frequency table (device label, length, messages), bounded by 4 x distinct lengths,
-- then the attachments' rows when the source has attachments.
WITH by_device AS MATERIALIZED (
    SELECT wm.device, char_length(wm.content) AS length, count(*) AS messages,
           min(wm.id) AS first_id, max(wm.id) AS last_id
    FROM ({window_messages}) AS wm
    GROUP BY wm.device, char_length(wm.content)
)
SELECT 'message_length'::text AS metric,
       {device_label} AS label,
       by_device.length::float8 AS key,
       sum(by_device.messages)::bigint AS n,
       NULL::float8 AS v_min, NULL::float8 AS v_max, NULL::numeric AS v_sum
FROM by_device
GROUP BY 2, 3
