-- An older page of a conversation by keyset pagination: the 50 messages just before the cursor
-- (created_at, id) of the last message on screen, deep in the history.
SELECT m.{messages.id}, m.{messages.sender_id}, m.{messages.content}, m.{messages.created_at}
FROM {messages} AS m
WHERE m.{messages.conversation_id} = %(conversation_id)s
  AND (m.{messages.created_at}, m.{messages.id}) < (%(cursor_created_at)s, %(cursor_id)s)
ORDER BY m.{messages.created_at} DESC, m.{messages.id} DESC
LIMIT 50
