-- Read receipts of one message ("seen by"), in reading order. The primary key
-- (message_id, user_id) serves it: a control for the recommended indexes.
SELECT r.{message_reads.user_id}, r.{message_reads.read_at}
FROM {message_reads} AS r
WHERE r.{message_reads.message_id} = %(message_id)s
ORDER BY r.{message_reads.read_at}
