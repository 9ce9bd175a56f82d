-- Parameters of the catalog, chosen from the loaded data by aggregate queries. Each statement
-- returns at most one row whose columns become query parameters.

-- name: heavy_room
-- The conversation with the most messages.
SELECT m.{messages.conversation_id} AS conversation_id, count(*) AS messages
FROM {messages} AS m
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT 1

-- name: typical_room
-- A conversation whose message count is the median over conversations with messages.
WITH sizes AS (
    SELECT m.{messages.conversation_id} AS conversation_id, count(*) AS messages
    FROM {messages} AS m
    GROUP BY 1
), median AS (
    SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY messages) AS messages FROM sizes
)
SELECT s.conversation_id, s.messages
FROM sizes AS s, median
WHERE s.messages = median.messages
ORDER BY s.conversation_id
LIMIT 1

-- name: heavy_user
-- The user who sent the most messages.
SELECT m.{messages.sender_id} AS user_id, count(*) AS messages
FROM {messages} AS m
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT 1

-- name: typical_user
-- A user whose sent-message count is the median over users who sent any.
WITH activity AS (
    SELECT m.{messages.sender_id} AS user_id, count(*) AS messages
    FROM {messages} AS m
    GROUP BY 1
), median AS (
    SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY messages) AS messages FROM activity
)
SELECT a.user_id, a.messages
FROM activity AS a, median
WHERE a.messages = median.messages
ORDER BY a.user_id
LIMIT 1

-- name: page_cursor
-- The keyset cursor halfway into the room's history (at most 1000 messages back).
SELECT m.{messages.created_at} AS cursor_created_at, m.{messages.id} AS cursor_id
FROM {messages} AS m
WHERE m.{messages.conversation_id} = %(conversation_id)s
ORDER BY m.{messages.created_at} DESC, m.{messages.id} DESC
OFFSET LEAST(1000, %(messages)s / 2)
LIMIT 1

-- name: user_range
-- The last seven days of the user's sending activity.
SELECT max(m.{messages.created_at}) - interval '7 days' AS range_start,
       max(m.{messages.created_at}) + interval '1 second' AS range_end
FROM {messages} AS m
WHERE m.{messages.sender_id} = %(user_id)s

-- name: most_read_message
-- The message with the most read receipts.
SELECT r.{message_reads.message_id} AS message_id, count(*) AS receipts
FROM {message_reads} AS r
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT 1
