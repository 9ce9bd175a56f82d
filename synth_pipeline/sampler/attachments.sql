-- Attachments of the window's messages: attachments per message (over messages that have any,
-- a frequency table), the kind mix, and size in bytes per kind in geometric micro-bins with exact
-- count, min, max and sum per kind. Kinds outside the logical enum are reported as 'file'.
WITH joined AS (
    {attachments_of_window}
),
grouped AS (
    -- grouping_set: 3 = per message, 4 = per (kind, size micro-bin), 5 = per kind
    SELECT GROUPING(keyed.message_id, keyed.kind, keyed.size_key) AS grouping_set,
           keyed.kind, keyed.size_key,
           count(*) AS n,
           min(keyed.size) AS v_min, max(keyed.size) AS v_max, sum(keyed.size_bytes) AS v_sum
    FROM (
        SELECT joined.message_id, joined.kind, joined.size, joined.size_bytes,
               CASE WHEN joined.size < %(bytes_floor)s::float8 THEN -1
                    ELSE floor(ln(joined.size / %(bytes_floor)s::float8) * %(micro_bins_per_e)s::float8)::int
               END AS size_key
        FROM joined
    ) AS keyed
    GROUP BY GROUPING SETS ((keyed.message_id), (keyed.kind, keyed.size_key), (keyed.kind))
)
SELECT CASE grouping_set WHEN 3 THEN 'attachments_per_message' WHEN 4 THEN 'attachment_size' ELSE 'attachment_size_stats' END AS metric,
       kind AS label,
       (CASE grouping_set WHEN 3 THEN n WHEN 4 THEN size_key END)::float8 AS key,
       sum(CASE WHEN grouping_set = 3 THEN 1 ELSE n END)::bigint AS n,
       min(CASE WHEN grouping_set = 5 THEN v_min END) AS v_min,
       max(CASE WHEN grouping_set = 5 THEN v_max END) AS v_max,
       sum(CASE WHEN grouping_set = 5 THEN v_sum END) AS v_sum
FROM grouped
GROUP BY 1, 2, 3
