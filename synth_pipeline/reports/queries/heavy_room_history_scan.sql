-- History scan of a whole room: messages and distinct senders per day over its entire history
-- (exports, analytics, search indexing). On a heavy room this reads thousands of rows.
SELECT date_trunc('day', m.{messages.created_at}) AS day,
       count(*) AS messages,
       count(DISTINCT m.{messages.sender_id}) AS senders
FROM {messages} AS m
WHERE m.{messages.conversation_id} = %(conversation_id)s
GROUP BY 1
ORDER BY 1
