-- Read receipts of the sampled window messages (all of them on small sources): how many messages
-- were sampled, receipts per message (a frequency table; messages without receipts are the
-- sampled messages minus those counted here) and the latency read_at - message time in geometric
-- micro-bins, with exact count, min, max and sum (whole microseconds, so the total does not
-- depend on the plan's summation order).
WITH sampled AS MATERIALIZED (
    SELECT wm.id, wm.created_at FROM ({sampled_messages}) AS wm
),
joined AS (
    {reads_of_window}
),
grouped AS (
    -- grouping_set: 1 = per message, 2 = per latency micro-bin, 3 = grand total
    SELECT GROUPING(keyed.message_id, keyed.latency_key) AS grouping_set,
           keyed.latency_key,
           count(*) AS n,
           min(keyed.latency) AS v_min, max(keyed.latency) AS v_max,
           sum((keyed.latency * 1000000)::bigint) AS v_sum
    FROM (
        SELECT latencies.message_id, latencies.latency,
               CASE WHEN latencies.latency < %(seconds_floor)s::float8 THEN -1
                    ELSE floor(ln(latencies.latency / %(seconds_floor)s::float8) * %(micro_bins_per_e)s::float8)::int
               END AS latency_key
        FROM (
            SELECT joined.message_id,
                   date_part('epoch', joined.read_at - joined.message_created_at) AS latency
            FROM joined
        ) AS latencies
    ) AS keyed
    GROUP BY GROUPING SETS ((keyed.message_id), (keyed.latency_key), ())
)
SELECT CASE grouping_set WHEN 1 THEN 'reads_per_message' WHEN 2 THEN 'read_latency' ELSE 'read_latency_stats' END AS metric,
       NULL::text AS label,
       (CASE grouping_set WHEN 1 THEN n WHEN 2 THEN latency_key END)::float8 AS key,
       sum(CASE WHEN grouping_set = 1 THEN 1 ELSE n END)::bigint AS n,
       min(CASE WHEN grouping_set = 3 THEN v_min END) AS v_min,
       max(CASE WHEN grouping_set = 3 THEN v_max END) AS v_max,
       sum(CASE WHEN grouping_set = 3 THEN v_sum END) AS v_sum
FROM grouped
GROUP BY 1, 2, 3
UNION ALL
-- key: the sample's modulus k
SELECT 'receipt_sample_messages', NULL, %(receipt_modulus)s::float8, count(*), NULL, NULL, NULL
FROM sampled
