-- Users by primary device (their count is the user total) and the conversation total.
SELECT 'primary_device'::text AS metric,
       {u_primary_device} AS label,
       NULL::float8 AS key,
       count(*) AS n,
       NULL::float8 AS v_min, NULL::float8 AS v_max, NULL::numeric AS v_sum
FROM {users} AS u
GROUP BY 2
UNION ALL
SELECT 'conversations', NULL, NULL, count(*), NULL, NULL, NULL
FROM {conversations} AS c
