-- A user's conversation list, most recently active first: every conversation the user is in,
-- with the time of its last message, first 20.
SELECT p.{conversation_participants.conversation_id} AS conversation_id, last_message.created_at AS last_message_at
FROM {conversation_participants} AS p
LEFT JOIN LATERAL (
    SELECT m.{messages.created_at} AS created_at
    FROM {messages} AS m
    WHERE m.{messages.conversation_id} = p.{conversation_participants.conversation_id}
    ORDER BY m.{messages.created_at} DESC
    LIMIT 1
) AS last_message ON true
WHERE p.{conversation_participants.user_id} = %(user_id)s
ORDER BY last_message.created_at DESC NULLS LAST
LIMIT 20
