"""Validation of every generated partition: full vectorised invariants, then pandera on a sample.

Pandera on pandas costs seconds per million rows (a DataFrame conversion, then Python-level checks
per column), which alone would break the generator's speed target, and pandera's polars backend
is not installed. So each partition is checked twice, with the same rules:

1. `check_invariants`: every row, with Arrow kernels and numpy (one pass per rule, ~0.1 s per
   1M-message shard): exact Arrow schema, nullability, enums, identities as functions of the id,
   conversation names, id and foreign-key ranges, key order/uniqueness, timestamps in their
   windows, joins before the first message, senders and readers being participants of the
   conversation (an Arrow hash-set lookup of conversation_id * (U + 1) + user_id), readers are
   not the sender, (message_id, user_id) unique in message_reads, reads after their message, and
   message content made of lower-case ASCII words separated by single spaces (`neutral_charset`).
2. `check_sample`: the pandera `DataFrameSchema` of each table (`table_schemas`) on a
   deterministic sample (`SAMPLE_ROWS` evenly spaced rows, first and last included), including
   the vocabulary of message content (every word in the neutral list: ~0.3 s per 1M messages on
   every row, a tenth of the generation time, so it stays on the sample; docs/generator.md has
   the measurements); the schemas are the readable statement of the contract and catch whatever
   the vectorised rules do not express.

A failure raises `CheckFailed` naming the partition, table, column and check.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pandera.pandas as pdx
import pyarrow as pa
import pyarrow.compute as pc

from synth_pipeline.errors import CheckFailed
from synth_pipeline.generator.plan import USERS_PARTITION, GenerationPlan
from synth_pipeline.generator.tables import identity_columns
from synth_pipeline.privacy.neutral_words import NEUTRAL_WORD_SET
from synth_pipeline.schema.arrow import ARROW_SCHEMAS
from synth_pipeline.schema.logical import (
    ATTACHMENT_KINDS,
    BIO_PATTERN,
    CONVERSATION_KINDS,
    DEVICES,
    EMAIL_PATTERN,
    FIRST_NAME,
    LAST_NAME_PATTERN,
    USERNAME_PATTERN,
    table as logical_table,
)

SAMPLE_ROWS = 1_000
CONVERSATION_NAME = r"^(Heavy Room|Group) [1-9][0-9]*$"
_TS = pd.DatetimeTZDtype("us", "UTC")


def _fail(partition: str, table: str, column: str, check: str, detail: str = "") -> CheckFailed:
    suffix = f": {detail}" if detail else ""
    return CheckFailed(f"generated partition {partition}: table {table} column {column} failed check {check}{suffix}; "
                       "this is a generator bug or an inconsistent spec")


# -- bounds shared by both layers -----------------------------------------------------------------
class Bounds:
    """Id and time ranges a partition's rows must fall in."""

    def __init__(self, plan: GenerationPlan, name: str) -> None:
        w = plan.window
        self.users = (1, plan.sizes.users)
        self.users_created = (w.users_from_us, w.users_to_us - 1)
        self.conversations_created = (w.conversations_from_us, w.end_us - 1)
        self.messages_created = (w.start_us, w.end_us - 1)
        self.ranges = {t: (r.first, r.last) for t, r in plan.id_ranges(name).items()}
        latency = plan.spec.parameters.reads.latency_seconds if plan.spec.parameters.reads is not None else None
        high = latency.high if latency is not None and latency.high is not None else None
        self.read_at_max = w.end_us + int(np.ceil(high * 1e6)) + 1 if high is not None else np.iinfo(np.int64).max


# -- 1. vectorised invariants over every row ---------------------------------------------------------
def _values(table: pa.Table, column: str) -> np.ndarray:
    """int64 view of an integer or timestamp column without nulls (zero copy for one chunk)."""
    col = table.column(column)
    if col.type != pa.int64():
        col = col.cast(pa.int64())
    return col.to_numpy()


def check_invariants(plan: GenerationPlan, name: str, tables: dict[str, pa.Table]) -> None:
    bounds = Bounds(plan, name)
    expected = {"users"} if name == USERS_PARTITION else {
        "conversations", "conversation_participants", "messages"} | (
        {"attachments"} if plan.spec.parameters.attachments is not None else set()) | (
        {"message_reads"} if plan.spec.parameters.reads is not None else set())
    if set(tables) != expected:
        raise _fail(name, ",".join(sorted(set(tables) ^ expected)), "*", "tables_present")
    for table_name, table in tables.items():
        _check_shape(name, table_name, table)
    if name == USERS_PARTITION:
        _check_users(name, tables["users"], bounds)
    else:
        _check_shard(plan, name, tables, bounds)


def _check_shape(partition: str, table_name: str, table: pa.Table) -> None:
    if not table.schema.equals(ARROW_SCHEMAS[table_name], check_metadata=False):
        raise _fail(partition, table_name, "*", "arrow_schema", f"got {table.schema.types}")
    for column in logical_table(table_name).columns:
        data = table.column(column.name)
        if not column.nullable and data.null_count:
            raise _fail(partition, table_name, column.name, "not_nullable", f"{data.null_count} nulls")
        if column.allowed_values is not None:
            inside = pc.sum(pc.is_in(data, value_set=pa.array(column.allowed_values), skip_nulls=True)).as_py() or 0
            outside = len(data) - data.null_count - inside
            if outside > 0:
                raise _fail(partition, table_name, column.name, "allowed_values", f"{outside} rows outside {column.allowed_values}")


def _in_range(partition: str, table: str, column: str, values: np.ndarray, low: int, high: int, check: str) -> None:
    if values.size and (values.min() < low or values.max() > high):
        outside = int(np.count_nonzero((values < low) | (values > high)))
        raise _fail(partition, table, column, check, f"{outside} rows outside [{low}, {high}]")


def _increasing(partition: str, table: str, column: str, values: np.ndarray) -> None:
    if values.size > 1 and not np.all(values[1:] > values[:-1]):
        raise _fail(partition, table, column, "unique_increasing")


def _check_users(partition: str, users: pa.Table, b: Bounds) -> None:
    ids = _values(users, "id")
    _in_range(partition, "users", "id", ids, *b.ranges["users"], "id_range")
    _increasing(partition, "users", "id", ids)
    if ids.size != b.ranges["users"][1]:
        raise _fail(partition, "users", "id", "row_count", f"{ids.size} users, the plan has {b.ranges['users'][1]}")
    text_id = pc.cast(users.column("id"), pa.string())
    for column, value in identity_columns(text_id, len(ids)).items():
        if not pc.all(pc.equal(users.column(column), value)).as_py():
            raise _fail(partition, "users", column, "identity_contract")
    _in_range(partition, "users", "created_at", _values(users, "created_at"), *b.users_created, "timestamp_window")


def _check_shard(plan: GenerationPlan, partition: str, tables: dict[str, pa.Table], b: Bounds) -> None:
    conv_first, conv_last = b.ranges["conversations"]
    msg_first, msg_last = b.ranges["messages"]
    n_users = plan.sizes.users

    conversations = tables["conversations"]
    conv_ids = _values(conversations, "id")
    _in_range(partition, "conversations", "id", conv_ids, conv_first, conv_last, "id_range")
    _increasing(partition, "conversations", "id", conv_ids)
    names, kinds = conversations.column("name"), conversations.column("kind")
    direct = pc.equal(kinds, "direct")
    if not pc.all(pc.equal(direct, pc.is_null(names))).as_py():
        raise _fail(partition, "conversations", "name", "null_iff_direct")
    named = pc.drop_null(names)
    if len(named) and not pc.all(pc.match_substring_regex(named, CONVERSATION_NAME)).as_py():
        raise _fail(partition, "conversations", "name", "name_pattern")
    conv_created = _values(conversations, "created_at")
    _in_range(partition, "conversations", "created_at", conv_created, *b.conversations_created, "timestamp_window")

    participants = tables["conversation_participants"]
    p_conv, p_user = _values(participants, "conversation_id"), _values(participants, "user_id")
    _in_range(partition, "conversation_participants", "conversation_id", p_conv, conv_first, conv_last, "fk_range")
    _in_range(partition, "conversation_participants", "user_id", p_user, 1, n_users, "fk_range")
    participant_key = p_conv * (n_users + 1) + p_user
    _increasing(partition, "conversation_participants", "conversation_id,user_id", participant_key)
    joined = _values(participants, "joined_at")
    if np.any(joined < conv_created[p_conv - conv_first]):
        raise _fail(partition, "conversation_participants", "joined_at", "joined_after_conversation_created")

    messages = tables["messages"]
    m_ids, m_conv, m_sender = _values(messages, "id"), _values(messages, "conversation_id"), _values(messages, "sender_id")
    _in_range(partition, "messages", "id", m_ids, msg_first, msg_last, "id_range")
    if m_ids.size != msg_last - msg_first + 1:
        raise _fail(partition, "messages", "id", "row_count", f"{m_ids.size} messages, the plan has {msg_last - msg_first + 1}")
    _increasing(partition, "messages", "id", m_ids)
    _in_range(partition, "messages", "conversation_id", m_conv, conv_first, conv_last, "fk_range")
    _in_range(partition, "messages", "sender_id", m_sender, 1, n_users, "fk_range")
    created = _values(messages, "created_at")
    _in_range(partition, "messages", "created_at", created, *b.messages_created, "timestamp_window")
    participant_set = pa.array(participant_key)
    _member(partition, "messages", "sender_id", "sender_is_participant", participant_set, m_conv * (n_users + 1) + m_sender)
    _check_charset(partition, messages.column("content"))
    first_message = np.full(conv_ids.size, np.iinfo(np.int64).max)
    np.minimum.at(first_message, m_conv - conv_first, created)
    if np.any(joined > first_message[p_conv - conv_first]):
        raise _fail(partition, "conversation_participants", "joined_at", "joined_before_first_message")

    if "attachments" in tables:
        att = tables["attachments"]
        a_ids = _values(att, "id")
        _in_range(partition, "attachments", "id", a_ids, *b.ranges["attachments"], "id_range")
        _increasing(partition, "attachments", "id", a_ids)
        _in_range(partition, "attachments", "message_id", _values(att, "message_id"), msg_first, msg_last, "fk_range")
        _in_range(partition, "attachments", "size_bytes", _values(att, "size_bytes"), 0, np.iinfo(np.int64).max, "non_negative")

    if "message_reads" in tables:
        reads = tables["message_reads"]
        r_msg, r_user = _values(reads, "message_id"), _values(reads, "user_id")
        _in_range(partition, "message_reads", "message_id", r_msg, msg_first, msg_last, "fk_range")
        _in_range(partition, "message_reads", "user_id", r_user, 1, n_users, "fk_range")
        row = r_msg - msg_first
        if np.any(r_user == m_sender[row]):
            raise _fail(partition, "message_reads", "user_id", "reader_is_not_sender")
        _member(partition, "message_reads", "user_id", "reader_is_participant", participant_set, m_conv[row] * (n_users + 1) + r_user)
        _unique_reads(partition, r_msg, r_user, n_users)
        read_at = _values(reads, "read_at")
        if np.any(read_at <= created[row]):
            raise _fail(partition, "message_reads", "read_at", "read_after_message")
        _in_range(partition, "message_reads", "read_at", read_at, b.messages_created[0], b.read_at_max, "timestamp_window")


def _member(partition: str, table: str, column: str, check: str, value_set: pa.Array, keys: np.ndarray) -> None:
    """Every key in `value_set`: an Arrow hash-set lookup, 5-7x faster than a binary search per row."""
    missing = keys.size - (pc.sum(pc.is_in(keys, value_set=value_set)).as_py() or 0)
    if missing:
        raise _fail(partition, table, column, check, f"{missing} rows")


def _unique_reads(partition: str, message: np.ndarray, user: np.ndarray, n_users: int) -> None:
    """(message_id, user_id) unique in message_reads, linear for the generator's layout.

    Reads come grouped by message, each message's readers a run of the conversation's participants
    (sorted by user) that may wrap around once: so the keys message * (U + 1) + user, inside a
    message, are a rotation of a strictly increasing sequence. A sequence with at most one descent,
    whose last key is below its first when it has one, has distinct keys; that costs a few linear
    passes. Any other layout falls back to a sort (correct, ~5x slower)."""
    if message.size < 2:
        return
    key = message * (n_users + 1) + user
    step = key[1:] - key[:-1]
    duplicates = int(np.count_nonzero(step == 0))  # the key is injective: equal neighbours are duplicates
    if not duplicates:
        grouped = bool(np.all(message[1:] >= message[:-1]))
        descent = np.flatnonzero(step < 0)
        group = message[descent]
        if not grouped or (group.size > 1 and np.any(group[1:] == group[:-1])) or np.any(
                key[np.searchsorted(message, group, side="right") - 1] >= key[np.searchsorted(message, group, side="left")]):
            ordered = np.sort(key)
            duplicates = int(np.count_nonzero(ordered[1:] == ordered[:-1]))
    if duplicates:
        raise _fail(partition, "message_reads", "message_id,user_id", "unique", f"{duplicates} duplicate rows")


def _check_charset(partition: str, content: pa.ChunkedArray) -> None:
    """Every message non-empty, lower-case ASCII letters and single spaces between words (the neutral
    words' alphabet; whether each word is in the list is checked on the sample): ~40 ms per 1M messages."""
    bad = 0
    for chunk in content.chunks:
        if not len(chunk):
            continue
        offsets = np.frombuffer(chunk.buffers()[1], np.int32)[chunk.offset: chunk.offset + len(chunk) + 1]
        relative = offsets - offsets[0]
        if np.any(relative[1:] <= relative[:-1]):
            raise _fail(partition, "messages", "content", "neutral_charset", "empty message")
        data = np.frombuffer(chunk.buffers()[2], np.uint8)[offsets[0]: offsets[-1]]
        space = data == 32
        bad += data.size - int(np.count_nonzero(((data - np.uint8(97)) < 26) | space))  # uint8 wraps below "a"
        bad += int(np.count_nonzero(space[1:] & space[:-1]))
        bad += int(np.count_nonzero(space[relative[:-1]])) + int(np.count_nonzero(space[relative[1:] - 1]))
    if bad:
        raise _fail(partition, "messages", "content", "neutral_charset",
                    f"{bad} bytes other than lower-case letters and single spaces between words")


# -- 2. pandera schemas on a deterministic sample -------------------------------------------------------
def _vocabulary(content: pd.Series) -> pd.Series:
    return content.map(lambda text: all(word in NEUTRAL_WORD_SET for word in text.split(" ")))


def table_schemas(plan: GenerationPlan, name: str) -> dict[str, pdx.DataFrameSchema]:
    """The pandera schema of every table of partition `name` (ids and times bounded by the plan)."""
    b = Bounds(plan, name)
    ts = lambda low, high: pdx.Check.in_range(pd.Timestamp(low, unit="us", tz="UTC"), pd.Timestamp(high, unit="us", tz="UTC"))  # noqa: E731
    user_fk = pdx.Check.in_range(1, plan.sizes.users, name="fk_users")
    device = pdx.Column(str, pdx.Check.isin(DEVICES), nullable=True)
    if name == USERS_PARTITION:
        return {"users": pdx.DataFrameSchema({
            "id": pdx.Column("int64", pdx.Check.in_range(*b.ranges["users"]), unique=True),
            "email": pdx.Column(str, pdx.Check.str_matches(EMAIL_PATTERN)),
            "username": pdx.Column(str, pdx.Check.str_matches(USERNAME_PATTERN)),
            "first_name": pdx.Column(str, pdx.Check.eq(FIRST_NAME)),
            "last_name": pdx.Column(str, pdx.Check.str_matches(LAST_NAME_PATTERN)),
            "bio": pdx.Column(str, pdx.Check.str_matches(BIO_PATTERN), nullable=True),
            "primary_device": device,
            "is_active": pdx.Column(bool),
            "created_at": pdx.Column(_TS, ts(*b.users_created)),
        }, checks=[
            pdx.Check(lambda df: df["email"] == "syn_user_" + df["id"].astype(str) + "@synthetic.test", name="email_is_id"),
            pdx.Check(lambda df: df["username"] == "synuser" + df["id"].astype(str), name="username_is_id"),
            pdx.Check(lambda df: df["last_name"] == df["id"].astype(str), name="last_name_is_id"),
            pdx.Check(lambda df: df["bio"] == "Synthetic test user " + df["id"].astype(str), name="bio_is_id"),
        ], strict=True, ordered=True)}
    conversations = b.ranges["conversations"]
    messages = b.ranges["messages"]
    schemas = {
        "conversations": pdx.DataFrameSchema({
            "id": pdx.Column("int64", pdx.Check.in_range(*conversations), unique=True),
            "name": pdx.Column(str, pdx.Check.str_matches(CONVERSATION_NAME), nullable=True),
            "kind": pdx.Column(str, pdx.Check.isin(CONVERSATION_KINDS)),
            "created_at": pdx.Column(_TS, ts(*b.conversations_created)),
        }, checks=[pdx.Check(lambda df: (df["kind"] == "direct") == df["name"].isna(), name="name_null_iff_direct")],
            strict=True, ordered=True),
        "conversation_participants": pdx.DataFrameSchema({
            "conversation_id": pdx.Column("int64", pdx.Check.in_range(*conversations, name="fk_conversations")),
            "user_id": pdx.Column("int64", user_fk),
            "joined_at": pdx.Column(_TS, ts(*b.conversations_created)),
        }, unique=["conversation_id", "user_id"], strict=True, ordered=True),
        "messages": pdx.DataFrameSchema({
            "id": pdx.Column("int64", pdx.Check.in_range(*messages), unique=True),
            "conversation_id": pdx.Column("int64", pdx.Check.in_range(*conversations, name="fk_conversations")),
            "sender_id": pdx.Column("int64", user_fk),
            "content": pdx.Column(str, [pdx.Check.str_length(min_value=1), pdx.Check(_vocabulary, name="neutral_vocabulary")]),
            "device": device,
            "created_at": pdx.Column(_TS, ts(*b.messages_created)),
        }, strict=True, ordered=True),
    }
    if "attachments" in b.ranges:
        schemas["attachments"] = pdx.DataFrameSchema({
            "id": pdx.Column("int64", pdx.Check.in_range(*b.ranges["attachments"]), unique=True),
            "message_id": pdx.Column("int64", pdx.Check.in_range(*messages, name="fk_messages")),
            "kind": pdx.Column(str, pdx.Check.isin(ATTACHMENT_KINDS)),
            "mime_type": pdx.Column(str, pdx.Check.str_matches(r"^[a-z]+/[a-z0-9.+-]+$")),
            "size_bytes": pdx.Column("int64", pdx.Check.ge(0)),
        }, strict=True, ordered=True)
    if plan.spec.parameters.reads is not None:
        # The sample carries the read message's created_at as an extra column for the ordering check.
        schemas["message_reads"] = pdx.DataFrameSchema({
            "message_id": pdx.Column("int64", pdx.Check.in_range(*messages, name="fk_messages")),
            "user_id": pdx.Column("int64", user_fk),
            "read_at": pdx.Column(_TS, ts(b.messages_created[0], min(b.read_at_max, 2**62))),
            "message_created_at": pdx.Column(_TS),
        }, checks=[pdx.Check(lambda df: df["read_at"] > df["message_created_at"], name="read_after_message")],
            unique=["message_id", "user_id"], strict=True, ordered=True)
    return schemas


def sample_rows(n_rows: int, size: int = SAMPLE_ROWS) -> np.ndarray:
    """Evenly spaced row positions, first and last included: the same rows on every run."""
    if n_rows <= size:
        return np.arange(n_rows)
    return np.unique(np.linspace(0, n_rows - 1, size).astype(np.int64))


def check_sample(plan: GenerationPlan, name: str, tables: dict[str, pa.Table], size: int = SAMPLE_ROWS) -> None:
    schemas = table_schemas(plan, name)
    for table_name, table in tables.items():
        frame = table.take(pa.array(sample_rows(table.num_rows, size))).to_pandas()
        if table_name == "message_reads":
            first = Bounds(plan, name).ranges["messages"][0]
            created = tables["messages"].column("created_at").take(pa.array(frame["message_id"].to_numpy() - first))
            frame["message_created_at"] = created.to_pandas()
        try:
            schemas[table_name].validate(frame)
        except pdx.errors.SchemaError as exc:
            column = getattr(exc.schema, "name", None) or "*"
            check = getattr(exc.check, "name", None) or str(exc.check) if exc.check is not None else exc.reason_code
            raise _fail(name, table_name, str(column), re.sub(r"\s+", " ", str(check))) from None


def validate_partition(plan: GenerationPlan, name: str, tables: dict[str, pa.Table]) -> None:
    check_invariants(plan, name, tables)
    check_sample(plan, name, tables)
