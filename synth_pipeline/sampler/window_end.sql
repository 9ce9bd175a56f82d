-- The window ends at the latest message time in the source, rounded up to a whole second, so the
-- same data always gives the same window. One aggregate number comes back (Unix seconds).
-- The latest time is at least that of the message with the largest id (one primary-key probe),
-- so only messages from that moment on are looked at: PostgreSQL 18 skip-scans an index whose
-- second column is the message time (both of the logical model's), one descent per sender or
-- conversation, instead of reading every message; without such an index it scans, as max() would.
SELECT ceil(date_part('epoch', max(m.{m_created_at})))::float8 AS window_end_epoch
FROM {messages} AS m
WHERE m.{m_created_at} >= coalesce(
    (SELECT latest.{m_created_at} FROM {messages} AS latest ORDER BY latest.{m_id} DESC LIMIT 1),
    '-infinity'::timestamptz)
