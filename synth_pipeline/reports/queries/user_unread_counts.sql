-- Unread count per conversation for a user: messages since the user joined, sent by someone
-- else, with no read receipt from the user.
SELECT p.{conversation_participants.conversation_id} AS conversation_id, count(*) AS unread
FROM {conversation_participants} AS p
JOIN {messages} AS m
  ON m.{messages.conversation_id} = p.{conversation_participants.conversation_id}
 AND m.{messages.created_at} > p.{conversation_participants.joined_at}
 AND m.{messages.sender_id} <> p.{conversation_participants.user_id}
WHERE p.{conversation_participants.user_id} = %(user_id)s
  AND NOT EXISTS (
      SELECT 1 FROM {message_reads} AS r
      WHERE r.{message_reads.message_id} = m.{messages.id}
        AND r.{message_reads.user_id} = p.{conversation_participants.user_id}
  )
GROUP BY p.{conversation_participants.conversation_id}
