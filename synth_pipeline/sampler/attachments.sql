-- Attachments of the window's messages (a branch of messages.sql, whose `by_device` gives the
-- window's id range): attachments per message (over messages that have any, a frequency table),
-- the kind mix, and size in bytes per kind in geometric micro-bins with exact count, min, max and
-- sum per kind. Kinds outside the logical enum are reported as 'file'.
WITH joined AS MATERIALIZED (
    {attachments_of_window}
)
SELECT 'attachments_per_message'::text, NULL::text, per_message.attachments::float8, count(*),
       NULL::float8, NULL::float8, NULL::numeric
FROM (SELECT joined.message_id, count(*) AS attachments FROM joined GROUP BY joined.message_id) AS per_message
GROUP BY per_message.attachments
UNION ALL
SELECT 'attachment_size', keyed.kind, keyed.size_key::float8, count(*), NULL, NULL, NULL
FROM (
    SELECT joined.kind,
           CASE WHEN joined.size < %(bytes_floor)s::float8 THEN -1
                ELSE floor(ln(joined.size / %(bytes_floor)s::float8) * %(micro_bins_per_e)s::float8)::int
           END AS size_key
    FROM joined
) AS keyed
GROUP BY keyed.kind, keyed.size_key
UNION ALL
SELECT 'attachment_size_stats', joined.kind, NULL, count(*), min(joined.size), max(joined.size), sum(joined.size_bytes)
FROM joined
GROUP BY joined.kind
