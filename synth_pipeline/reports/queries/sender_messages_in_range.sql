-- Messages by one sender in a time range, newest first (moderation, "my messages" search). The
-- base index (sender_id, created_at) already serves it: a control for the recommended indexes.
SELECT m.{messages.id}, m.{messages.conversation_id}, m.{messages.created_at}
FROM {messages} AS m
WHERE m.{messages.sender_id} = %(user_id)s
  AND m.{messages.created_at} >= %(range_start)s
  AND m.{messages.created_at} < %(range_end)s
ORDER BY m.{messages.created_at} DESC
LIMIT 100
