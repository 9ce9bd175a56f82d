-- The window ends at the latest message time in the source, rounded up to a whole second, so the
-- same data always gives the same window; the message total sizes the receipt sample. Two
-- aggregate numbers come back (Unix seconds, a count).
SELECT ceil(date_part('epoch', max(m.{m_created_at})))::float8 AS window_end_epoch,
       count(*) AS messages_total
FROM {messages} AS m
