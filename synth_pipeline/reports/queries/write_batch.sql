-- The write-amplification batch: chat writes appended to the loaded data inside a transaction
-- that is always rolled back. The stage_* statements prepare rows in temporary tables (not
-- timed); the insert_* statements are timed, once with the base indexes and once with the
-- recommended ones. New ids start above the current maximum, so keys never collide.

-- name: stage_messages
-- Copies of the newest messages, one second later, with fresh ids.
CREATE TEMP TABLE synth_wb_messages ON COMMIT DROP AS
SELECT (SELECT max(x.{messages.id}) FROM {messages} AS x) + row_number() OVER (ORDER BY newest.id) AS id,
       newest.conversation_id, newest.sender_id, newest.content, newest.created_at + interval '1 second' AS created_at
FROM (
    SELECT m.{messages.id} AS id, m.{messages.conversation_id} AS conversation_id, m.{messages.sender_id} AS sender_id,
           m.{messages.content} AS content, m.{messages.created_at} AS created_at
    FROM {messages} AS m
    ORDER BY m.{messages.id} DESC
    LIMIT %(rows)s
) AS newest

-- name: stage_conversations
-- Fresh conversations for the new participants (inserted untimed: only participants are measured).
CREATE TEMP TABLE synth_wb_conversations ON COMMIT DROP AS
SELECT (SELECT max(c.{conversations.id}) FROM {conversations} AS c) + g AS id
FROM generate_series(1, %(conversations)s) AS g

-- name: insert_conversations
INSERT INTO {conversations} ({conversations.id}, {conversations.kind}, {conversations.created_at})
SELECT id, 'group', now() FROM synth_wb_conversations

-- name: stage_participants
-- Every new conversation gets the same handful of existing users.
CREATE TEMP TABLE synth_wb_participants ON COMMIT DROP AS
SELECT c.id AS conversation_id, u.id AS user_id, now() AS joined_at
FROM synth_wb_conversations AS c
CROSS JOIN (SELECT x.{users.id} AS id FROM {users} AS x ORDER BY x.{users.id} LIMIT %(members)s) AS u

-- name: stage_reads
-- One receipt per new message, by its sender (any existing user keeps the foreign key valid).
CREATE TEMP TABLE synth_wb_reads ON COMMIT DROP AS
SELECT id AS message_id, sender_id AS user_id, created_at + interval '5 seconds' AS read_at
FROM synth_wb_messages

-- name: insert_messages
INSERT INTO {messages} ({messages.id}, {messages.conversation_id}, {messages.sender_id}, {messages.content}, {messages.created_at})
SELECT id, conversation_id, sender_id, content, created_at FROM synth_wb_messages

-- name: insert_participants
INSERT INTO {conversation_participants}
    ({conversation_participants.conversation_id}, {conversation_participants.user_id}, {conversation_participants.joined_at})
SELECT conversation_id, user_id, joined_at FROM synth_wb_participants

-- name: insert_reads
INSERT INTO {message_reads} ({message_reads.message_id}, {message_reads.user_id}, {message_reads.read_at})
SELECT message_id, user_id, read_at FROM synth_wb_reads
