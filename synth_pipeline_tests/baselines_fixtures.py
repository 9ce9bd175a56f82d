"""A small chat-shaped schema for query-baseline tests, filled by SQL generate_series.

50,000 messages by default: two heavy rooms (1/16 and 1/32 of the messages, 60 members
each), the rest spread over ~3,000 conversations with a skew towards low ids; 2,000 users; read receipts
for two thirds of the messages; attachments on one in twenty. Values are deterministic
arithmetic on the row number (no random()), so plans are the same on every run. The schema is
created with the logical DDL (keys and base indexes), under any mapping, then VACUUM ANALYZEd,
as after a load (COPY FREEZE leaves pages all-visible too).
"""

from __future__ import annotations

import time

import psycopg

from synth_pipeline.reports.sqltemplate import render
from synth_pipeline.schema.ddl import create_logical_schema
from synth_pipeline.schema.mapping import Mapping

USERS = 2000
CONVERSATIONS = 3000

# Member k of conversation c is user ((c * 37 + k * 101) mod USERS) + 1: distinct for k < USERS.
_MEMBER = "mod(({c}) * 37 + ({k}) * 101, 2000) + 1"
_SIZE = "(CASE WHEN {c} <= 2 THEN 60 WHEN mod({c}, 3) = 0 THEN 5 ELSE 2 END)"

_FILL = [
    """INSERT INTO {users} ({users.id}, {users.email}, {users.username}, {users.first_name}, {users.last_name},
           {users.bio}, {users.primary_device}, {users.is_active}, {users.created_at})
       SELECT g, 'syn_user_' || g || '@synthetic.test', 'synuser' || g, 'User', g::text, 'Synthetic test user ' || g,
              (ARRAY['web', 'ios', 'android'])[1 + mod(g, 3)], true, timestamptz '2025-06-01 00:00:00+00'
       FROM generate_series(1, %(users)s) AS g""",
    """INSERT INTO {conversations} ({conversations.id}, {conversations.name}, {conversations.kind}, {conversations.created_at})
       SELECT g, CASE WHEN g <= 2 THEN 'Heavy Room ' || g WHEN mod(g, 3) = 0 THEN 'Group ' || g END,
              CASE WHEN g <= 2 OR mod(g, 3) = 0 THEN 'group' ELSE 'direct' END, timestamptz '2025-12-01 00:00:00+00'
       FROM generate_series(1, %(conversations)s) AS g""",
    f"""INSERT INTO {{conversation_participants}} ({{conversation_participants.conversation_id}},
           {{conversation_participants.user_id}}, {{conversation_participants.joined_at}})
       SELECT c, {_MEMBER.format(c="c", k="k")}, timestamptz '2025-12-01 00:00:00+00' + (k || ' hours')::interval
       FROM generate_series(1, %(conversations)s) AS c, generate_series(0, 59) AS k
       WHERE k < {_SIZE.format(c="c")}""",
    # Message g: every 16th goes to heavy room 1, every 32nd (offset 1) to heavy room 2, the others
    # to conversation 3 + a skewed offset; the sender is a member (g mod size). Time grows with g
    # over 30 days, so the heap is in time order with the rooms interleaved, as in production.
    f"""INSERT INTO {{messages}} ({{messages.id}}, {{messages.conversation_id}}, {{messages.sender_id}}, {{messages.content}},
           {{messages.device}}, {{messages.created_at}})
       SELECT g, c, {_MEMBER.format(c="c", k=f"mod(g, {_SIZE.format(c='c')})")},
              'synthetic message ' || g, (ARRAY['web', 'ios', 'android'])[1 + mod(g, 3)],
              timestamptz '2026-01-01 00:00:00+00' + ((g * 2592000.0 / %(messages)s) || ' seconds')::interval
       FROM (
           SELECT g, CASE
               WHEN mod(g, 16) = 0 THEN 1
               WHEN mod(g, 32) = 1 THEN 2
               ELSE 3 + floor((%(conversations)s - 3) * power(mod(g::bigint * 7919, %(messages)s)::float8 / %(messages)s, 2))::int
           END AS c
           FROM generate_series(1, %(messages)s) AS g
       ) AS numbered""",
    # Readers: the next members after the sender, (id mod 3) of them, a minute later each.
    f"""INSERT INTO {{message_reads}} ({{message_reads.message_id}}, {{message_reads.user_id}}, {{message_reads.read_at}})
       SELECT m.{{messages.id}}, {_MEMBER.format(c="p.c", k=f"mod(m.{{messages.id}} + r, {_SIZE.format(c='p.c')})")},
              m.{{messages.created_at}} + (r || ' minutes')::interval
       FROM {{messages}} AS m
       CROSS JOIN LATERAL (SELECT m.{{messages.conversation_id}} AS c) AS p
       CROSS JOIN generate_series(1, 2) AS r
       WHERE r <= mod(m.{{messages.id}}, 3) AND r < {_SIZE.format(c='p.c')}""",
    """INSERT INTO {attachments} ({attachments.id}, {attachments.message_id}, {attachments.kind}, {attachments.mime_type},
           {attachments.size_bytes})
       SELECT m.{messages.id}, m.{messages.id}, 'image', 'image/png', 1000 + m.{messages.id}
       FROM {messages} AS m WHERE mod(m.{messages.id}, 20) = 0""",
]


def register_as_loaded(dsn: str, schema: str, mapping: Mapping) -> None:
    """Record `schema` in synth_meta.managed_schemas as the loader does after a load (state COMPLETE).

    Baselines only run on schemas the loader created (loader/meta.py `require_managed`); this
    fixture fills its schema by SQL instead, for plans that do not change between runs.
    """
    from synth_pipeline.loader import meta

    with psycopg.connect(dsn, autocommit=True) as conn:
        meta.ensure_meta(conn)
        with conn.transaction():
            conn.execute("DELETE FROM synth_meta.managed_schemas WHERE schema_name = %s", (schema,))
            meta.register_schema(conn, meta.ManagedSchema(
                schema_name=schema, mapping_name=mapping.name, mapping_path=str(mapping.source_path),
                mapping_sha256=mapping.sha256, manifest_sha256="0" * 64, expected_rows={}, state="COMPLETE"))


def fill_chat_schema(dsn: str, schema: str, mapping: Mapping, *, messages: int = 50_000) -> None:
    """Create `schema` under `mapping` and fill it; ends with VACUUM ANALYZE."""
    params = {"users": USERS, "conversations": CONVERSATIONS, "messages": messages}
    with psycopg.connect(dsn) as conn:
        create_logical_schema(conn, schema, mapping)
        for statement in _FILL:
            conn.execute(render(statement, schema, mapping, where="fill_chat_schema"), params)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for logical in ("users", "conversations", "conversation_participants", "messages", "message_reads", "attachments"):
            _vacuum_until_all_visible(conn, mapping.table(schema, logical))


def _vacuum_until_all_visible(conn: psycopg.Connection, table: psycopg.sql.Identifier) -> None:
    """VACUUM ANALYZE until the visibility map covers the table.

    On a server shared with other test sessions, a concurrent transaction can hold the xmin
    horizon back for a moment, and VACUUM then leaves pages not all-visible (index-only scans
    would fetch the heap and plans would differ from run to run); a retry a moment later succeeds.
    """
    for attempt in range(20):
        conn.execute(psycopg.sql.SQL("VACUUM ANALYZE {}").format(table))
        pages, visible = conn.execute(
            "SELECT relpages, relallvisible FROM pg_class WHERE oid = %s::regclass", (table.as_string(conn),)
        ).fetchone()
        if visible >= pages:
            return
        time.sleep(0.1 * (attempt + 1))
