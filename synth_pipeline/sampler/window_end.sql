-- The window ends at the latest message time in the source, rounded up to a whole second, so the
-- same data always gives the same window. One aggregate number comes back (Unix seconds).
SELECT ceil(date_part('epoch', max(m.{m_created_at})))::float8 AS window_end_epoch
FROM {messages} AS m
