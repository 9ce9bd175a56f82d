"""The sampler's SQL: `.sql` templates beside this module, composed with mapped identifiers.

Every identifier comes from the mapping through `psycopg.sql.Identifier`; every value (window
bounds, HMAC pad keys, bounds) is a bind parameter. Enum columns are normalised on the server
(`CASE ... IN (...)`), so only known labels can ever come back.

The window's messages are one composable source (`window_messages`) that every statement reads.
With a contribution bound (epsilon mode) the sources are wrapped in `capped(...)`, which keeps at
most `contribution_bound` rows per user (and per message for receipts), chosen deterministically.
Statements can be cut into disjoint slices (`SLICE`) and receipts restricted to a systematic
sample of messages (`RECEIPT_SAMPLE`); see `Statements`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from psycopg import sql

from synth_pipeline.schema.logical import ATTACHMENT_KINDS, DEVICES
from synth_pipeline.schema.mapping import Mapping

WINDOW_MESSAGES = """\
SELECT m.{m_id} AS id, m.{m_conversation_id} AS conversation_id, m.{m_sender_id} AS sender_id,
       m.{m_content} AS content, {m_device} AS device, m.{m_created_at} AS created_at
FROM {messages} AS m
WHERE m.{m_created_at} > %(window_start)s AND m.{m_created_at} <= %(window_end)s{slice}{sample}"""

PARTICIPANTS = """\
SELECT p.{p_conversation_id} AS conversation_id, p.{p_user_id} AS user_id
FROM {participants} AS p
WHERE TRUE{slice}"""

# Receipts stamped more than a day before the window cannot belong to its messages (a receipt
# precedes its message only by clock skew): the filter halves the receipts joined, cheaply.
READS_OF_WINDOW = """\
SELECT r.{r_message_id} AS message_id, r.{r_user_id} AS user_id, r.{r_read_at} AS read_at,
       wm.created_at AS message_created_at
FROM {reads} AS r
JOIN ({window_messages}) AS wm ON wm.id = r.{r_message_id}
WHERE r.{r_read_at} > %(window_start)s - interval '1 day'{slice}{sample}"""

# The receipt sample of large sources: messages whose id is a multiple of %(receipt_modulus)s.
RECEIPT_SAMPLE = " AND mod({key}, %(receipt_modulus)s::bigint) = 0"

ATTACHMENTS_OF_WINDOW = """\
SELECT a.{a_id} AS id, a.{a_message_id} AS message_id, {a_kind} AS kind, a.{a_size_bytes}::float8 AS size,
       a.{a_size_bytes} AS size_bytes, wm.sender_id
FROM {attachments} AS a
JOIN ({window_messages}) AS wm ON wm.id = a.{a_message_id}
WHERE TRUE{slice}"""

# One of %(slices)s disjoint slices of an integer key (mod twice: keys may be negative).
SLICE = " AND mod(mod({key}, %(slices)s::bigint) + %(slices)s::bigint, %(slices)s::bigint) = %(slice)s::bigint"

# HMAC-SHA256(salt, value) on the server, from the two pad keys (RFC 2104):
# sha256(opad_key || sha256(ipad_key || value)), as 16 hex characters. See tokens.py.
TOKEN_EXPRESSION = """\
left(encode(sha256(%(hmac_outer_key)s::bytea
                   || sha256(%(hmac_inner_key)s::bytea || convert_to(({value})::text, 'UTF8'))), 'hex'), 16)"""

# At most %(contribution_bound)s rows per partition, the first ones in a fixed order.
CAPPED = """\
SELECT * FROM (
    SELECT bounded.*, {ranks}
    FROM ({source}) AS bounded
) AS ranked
WHERE {filters}"""


def template(name: str) -> str:
    return resources.files(__package__).joinpath(f"{name}.sql").read_text()


def _enum_expression(column: sql.Composable, labels: tuple[str, ...], otherwise: str | None) -> sql.Composed:
    """`CASE WHEN col IN (labels) THEN col ELSE otherwise END`: only known labels leave the server."""
    return sql.SQL("CASE WHEN {col} IN ({labels}) THEN {col} ELSE {otherwise} END").format(
        col=column,
        labels=sql.SQL(", ").join(sql.Literal(label) for label in labels),
        otherwise=sql.Literal(otherwise) if otherwise is not None else sql.SQL("NULL::text"),
    )


def token_expression(value: sql.Composable) -> sql.Composed:
    """The server-side identifier token of `value` (needs the hmac_*_key parameters)."""
    return sql.SQL(TOKEN_EXPRESSION).format(value=value)


def capped(source: sql.Composable, partitions: list[tuple[str, str]]) -> sql.Composed:
    """Keep at most `contribution_bound` rows per value of each partition column.

    `partitions` holds (partition column, order columns) pairs of the source's output columns.
    """
    ranks = sql.SQL(", ").join(
        sql.SQL("row_number() OVER (PARTITION BY bounded.{} ORDER BY {}) AS {}").format(
            sql.Identifier(column), sql.SQL(order), sql.Identifier(f"rank_{i}")
        )
        for i, (column, order) in enumerate(partitions)
    )
    filters = sql.SQL(" AND ").join(
        sql.SQL("{} <= %(contribution_bound)s::bigint").format(sql.Identifier(f"rank_{i}")) for i in range(len(partitions))
    )
    return sql.SQL(CAPPED).format(ranks=ranks, source=source, filters=filters)


def slice_filter(key: sql.Composable, sliced: bool) -> sql.Composable:
    return sql.SQL(SLICE).format(key=key) if sliced else sql.SQL("")


@dataclass(frozen=True)
class Statements:
    """The composed statements for one mapping and schema.

    `bounded` (epsilon mode) caps every source at the contribution bound. `sliced` adds a filter
    that keeps one of %(slices)s disjoint slices of each statement's grouping key (conversation
    for the passes over conversations, sender for senders, message otherwise), so that slices run
    concurrently on separate connections and their frequency tables simply add up.
    `receipt_sampled` restricts receipts to the messages of the receipt sample (large sources).
    """

    mapping: Mapping
    schema: str
    bounded: bool = False
    sliced: bool = False
    receipt_sampled: bool = False  # receipts measured on the messages of the receipt sample only

    def _table(self, logical: str) -> sql.Identifier:
        return self.mapping.table(self.schema, logical)

    def _col(self, logical: str, column: str) -> sql.Identifier:
        return self.mapping.column(logical, column)

    def window_messages(self, slice_key: str | None = None, receipt_sample: bool = False) -> sql.Composed:
        m = self.mapping
        device = (
            _enum_expression(sql.SQL("m.{}").format(self._col("messages", "device")), DEVICES, None)
            if m.has_column("messages", "device") else sql.SQL("NULL::text")
        )
        key = sql.SQL("m.{}").format(self._col("messages", slice_key)) if slice_key else None
        source = sql.SQL(WINDOW_MESSAGES).format(
            messages=self._table("messages"), m_device=device,
            slice=slice_filter(key, self.sliced and key is not None),
            sample=sql.SQL(RECEIPT_SAMPLE).format(key=sql.SQL("m.{}").format(self._col("messages", "id")))
            if receipt_sample else sql.SQL(""),
            **{f"m_{c}": self._col("messages", c) for c in ("id", "conversation_id", "sender_id", "content", "created_at")},
        )
        if self.bounded:
            return capped(source, [("sender_id", "bounded.created_at, bounded.id")])
        return source

    def participants_source(self) -> sql.Composed:
        conversation = self._col("conversation_participants", "conversation_id")
        source = sql.SQL(PARTICIPANTS).format(
            participants=self._table("conversation_participants"),
            p_conversation_id=conversation,
            p_user_id=self._col("conversation_participants", "user_id"),
            slice=slice_filter(sql.SQL("p.{}").format(conversation), self.sliced),
        )
        if self.bounded:
            return capped(source, [("user_id", "bounded.conversation_id")])
        return source

    def reads_of_window(self) -> sql.Composed:
        message = self._col("message_reads", "message_id")
        sampled = self.receipt_sampled
        source = sql.SQL(READS_OF_WINDOW).format(
            reads=self._table("message_reads"),
            window_messages=self.window_messages(None if sampled else "id", receipt_sample=sampled),
            slice=slice_filter(sql.SQL("r.{}").format(message), self.sliced and not sampled),
            sample=sql.SQL(RECEIPT_SAMPLE).format(key=sql.SQL("r.{}").format(message)) if sampled else sql.SQL(""),
            **{f"r_{c}": self._col("message_reads", c) for c in ("message_id", "user_id", "read_at")},
        )
        if self.bounded:
            return capped(source, [
                ("user_id", "bounded.read_at, bounded.message_id"),
                ("message_id", "bounded.read_at, bounded.user_id"),
            ])
        return source

    def attachments_of_window(self) -> sql.Composed:
        kind = _enum_expression(sql.SQL("a.{}").format(self._col("attachments", "kind")), ATTACHMENT_KINDS, "file")
        message = self._col("attachments", "message_id")
        source = sql.SQL(ATTACHMENTS_OF_WINDOW).format(
            attachments=self._table("attachments"), a_kind=kind, window_messages=self.window_messages("id"),
            slice=slice_filter(sql.SQL("a.{}").format(message), self.sliced),
            **{f"a_{c}": self._col("attachments", c) for c in ("id", "message_id", "size_bytes")},
        )
        if self.bounded:
            return capped(source, [("sender_id", "bounded.message_id, bounded.id")])
        return source

    # ---- the statements the sampler runs

    def catalog(self) -> sql.SQL:
        return sql.SQL(template("catalog"))

    def window_end(self) -> sql.Composed:
        return sql.SQL(template("window_end")).format(
            messages=self._table("messages"), m_created_at=self._col("messages", "created_at")
        )

    def message_lengths(self) -> sql.Composed:
        return sql.SQL(template("message_lengths")).format(window_messages=self.window_messages("id"))

    def message_senders(self) -> sql.Composed:
        return sql.SQL(template("message_senders")).format(window_messages=self.window_messages("sender_id"))

    def population(self) -> sql.Composed:
        primary_device = (
            _enum_expression(sql.SQL("u.{}").format(self._col("users", "primary_device")), DEVICES, None)
            if self.mapping.has_column("users", "primary_device") else sql.SQL("NULL::text")
        )
        return sql.SQL(template("population")).format(
            users=self._table("users"), conversations=self._table("conversations"), u_primary_device=primary_device
        )

    def message_times(self) -> sql.Composed:
        return sql.SQL(template("message_times")).format(window_messages=self.window_messages("conversation_id"))

    def conversations(self) -> sql.Composed:
        return sql.SQL(template("conversations")).format(
            window_messages=self.window_messages("conversation_id"),
            participants_source=self.participants_source(),
            conversations=self._table("conversations"),
            c_id=self._col("conversations", "id"),
            c_kind=self._col("conversations", "kind"),
            room_token=token_expression(sql.SQL("conversation_id")),
        )

    def reads(self) -> sql.Composed:
        return sql.SQL(template("reads")).format(reads_of_window=self.reads_of_window())

    def attachments(self) -> sql.Composed:
        return sql.SQL(template("attachments")).format(attachments_of_window=self.attachments_of_window())
