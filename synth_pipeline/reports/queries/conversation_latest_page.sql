-- Latest page of a conversation: the 50 newest messages, newest first. The order carries the id
-- as a tie-breaker so that the next page can continue from (created_at, id) without gaps.
SELECT m.{messages.id}, m.{messages.sender_id}, m.{messages.content}, m.{messages.created_at}
FROM {messages} AS m
WHERE m.{messages.conversation_id} = %(conversation_id)s
ORDER BY m.{messages.created_at} DESC, m.{messages.id} DESC
LIMIT 50
