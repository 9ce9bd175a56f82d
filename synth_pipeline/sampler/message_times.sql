-- Gaps between consecutive messages of a conversation, in one ordered pass (the
-- (conversation_id, created_at) index delivers that order without a sort). Gaps are counted in
-- geometric micro-bins (key k covers [floor*e^(k/R), floor*e^((k+1)/R)), key -1 everything below
-- floor), with their exact count, min, max and sum (in whole microseconds, exact whatever the
-- plan's summation order) in the stats row. Only micro-bin counts come back.
WITH gaps AS (
    SELECT date_part('epoch', wm.created_at - lag(wm.created_at)
                     OVER (PARTITION BY wm.conversation_id ORDER BY wm.created_at)) AS gap
    FROM ({window_messages}) AS wm
),
per_bin AS (
    SELECT CASE WHEN gaps.gap < %(seconds_floor)s::float8 THEN -1
                ELSE floor(ln(gaps.gap / %(seconds_floor)s::float8) * %(micro_bins_per_e)s::float8)::int
           END AS gap_key,
           count(*) AS n, min(gaps.gap) AS gap_min, max(gaps.gap) AS gap_max,
           sum((gaps.gap * 1000000)::bigint) AS gap_sum_us
    FROM gaps
    WHERE gaps.gap IS NOT NULL  -- the first message of each conversation has no gap
    GROUP BY 1
)
SELECT 'inter_arrival'::text AS metric, NULL::text AS label, gap_key::float8 AS key, n,
       NULL::float8 AS v_min, NULL::float8 AS v_max, NULL::numeric AS v_sum
FROM per_bin
UNION ALL
SELECT 'inter_arrival_stats', NULL, NULL, sum(n)::bigint, min(gap_min), max(gap_max), sum(gap_sum_us)
FROM per_bin
HAVING count(*) > 0
