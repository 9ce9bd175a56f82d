"""The sampler's SQL: `.sql` templates beside this module, composed with mapped identifiers.

Every identifier comes from the mapping through `psycopg.sql.Identifier`; every value (window
bounds, HMAC pad keys, bounds) is a bind parameter. Enum columns are normalised on the server
(`CASE ... IN (...)`) before anything is returned, so only known labels can ever come back.

The window's messages are one composable source (`window_messages`) that the passes over
messages read. With a contribution bound (epsilon mode) the sources are wrapped in `capped(...)`,
which keeps at most `contribution_bound` rows per user (and per message for receipts), chosen
deterministically. Receipts can be restricted to a systematic sample of messages
(`RECEIPT_SAMPLE`); see `Statements`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from psycopg import sql

from synth_pipeline.schema.logical import ATTACHMENT_KINDS, DEVICES
from synth_pipeline.schema.mapping import Mapping

# The device column comes back raw: statements group on it and normalise the (few) groups
# afterwards, which is cheaper than normalising every row (messages.sql).
WINDOW_MESSAGES = """\
SELECT m.{m_id} AS id, m.{m_conversation_id} AS conversation_id, m.{m_sender_id} AS sender_id,
       m.{m_content} AS content, {m_device} AS device, m.{m_created_at} AS created_at
FROM {messages} AS m
WHERE m.{m_created_at} > %(window_start)s AND m.{m_created_at} <= %(window_end)s{sample}"""

PARTICIPANTS = """\
SELECT p.{p_conversation_id} AS conversation_id, p.{p_user_id} AS user_id
FROM {participants} AS p"""

# Receipts of the sampled window messages, found through the receipts' primary key. Receipts
# stamped more than a day before the window cannot belong to its messages (a receipt precedes its
# message only by clock skew).
READS_OF_WINDOW = """\
SELECT r.{r_message_id} AS message_id, r.{r_user_id} AS user_id, r.{r_read_at} AS read_at,
       wm.created_at AS message_created_at
FROM {reads} AS r
JOIN sampled AS wm ON wm.id = r.{r_message_id}
WHERE r.{r_read_at} > %(window_start)s - interval '1 day'"""

# The receipt sample of large sources: messages whose id is a multiple of %(receipt_modulus)s.
RECEIPT_SAMPLE = " AND mod({key}, %(receipt_modulus)s::bigint) = 0"

# Attachments whose message is in the window, found from the attachments' side: only attachments
# inside the window's id range (`by_device`, messages.sql), then one primary-key probe of the
# message per attachment (OFFSET 0 keeps that nested loop). With ids that grow with time this
# touches only the window's attachments, instead of hashing every message of the window to find
# the few that have attachments (docs/sampler.md, "Speed").
ATTACHMENTS_OF_WINDOW = """\
SELECT a.{a_id} AS id, a.{a_message_id} AS message_id, {a_kind} AS kind, a.{a_size_bytes}::float8 AS size,
       a.{a_size_bytes} AS size_bytes, wm.sender_id
FROM {attachments} AS a
CROSS JOIN LATERAL (
    SELECT m.{m_sender_id} AS sender_id
    FROM {messages} AS m
    WHERE m.{m_id} = a.{a_message_id}
      AND m.{m_created_at} > %(window_start)s AND m.{m_created_at} <= %(window_end)s
    OFFSET 0
) AS wm
WHERE a.{a_message_id} BETWEEN (SELECT min(by_device.first_id) FROM by_device)
                           AND (SELECT max(by_device.last_id) FROM by_device)"""

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


@dataclass(frozen=True)
class Statements:
    """The composed statements for one mapping and schema.

    `bounded` (epsilon mode) caps every source at the contribution bound. `receipt_sampled`
    restricts receipts to the messages of the receipt sample (large sources).
    """

    mapping: Mapping
    schema: str
    bounded: bool = False
    receipt_sampled: bool = False  # receipts measured on the messages of the receipt sample only

    def _table(self, logical: str) -> sql.Identifier:
        return self.mapping.table(self.schema, logical)

    def _col(self, logical: str, column: str) -> sql.Identifier:
        return self.mapping.column(logical, column)

    def _message_columns(self) -> dict[str, sql.Identifier]:
        return {f"m_{c}": self._col("messages", c) for c in ("id", "conversation_id", "sender_id", "content", "created_at")}

    def window_messages(self, receipt_sample: bool = False) -> sql.Composed:
        device = (
            sql.SQL("m.{}").format(self._col("messages", "device"))
            if self.mapping.has_column("messages", "device") else sql.SQL("NULL::text")
        )
        source = sql.SQL(WINDOW_MESSAGES).format(
            messages=self._table("messages"), m_device=device,
            sample=sql.SQL(RECEIPT_SAMPLE).format(key=sql.SQL("m.{}").format(self._col("messages", "id")))
            if receipt_sample else sql.SQL(""),
            **self._message_columns(),
        )
        if self.bounded:
            return capped(source, [("sender_id", "bounded.created_at, bounded.id")])
        return source

    def participants_source(self) -> sql.Composed:
        source = sql.SQL(PARTICIPANTS).format(
            participants=self._table("conversation_participants"),
            p_conversation_id=self._col("conversation_participants", "conversation_id"),
            p_user_id=self._col("conversation_participants", "user_id"),
        )
        if self.bounded:
            return capped(source, [("user_id", "bounded.conversation_id")])
        return source

    def reads_of_window(self) -> sql.Composed:
        """Receipts of the CTE `sampled` (the sampled window messages)."""
        source = sql.SQL(READS_OF_WINDOW).format(
            reads=self._table("message_reads"),
            **{f"r_{c}": self._col("message_reads", c) for c in ("message_id", "user_id", "read_at")},
        )
        if self.bounded:
            return capped(source, [
                ("user_id", "bounded.read_at, bounded.message_id"),
                ("message_id", "bounded.read_at, bounded.user_id"),
            ])
        return source

    def attachments_of_window(self) -> sql.Composed:
        """Attachments of window messages (in epsilon mode: of the capped messages' id range, then
        capped per sender, which is what bounds a user's contribution)."""
        kind = _enum_expression(sql.SQL("a.{}").format(self._col("attachments", "kind")), ATTACHMENT_KINDS, "file")
        source = sql.SQL(ATTACHMENTS_OF_WINDOW).format(
            attachments=self._table("attachments"), messages=self._table("messages"), a_kind=kind,
            **{f"a_{c}": self._col("attachments", c) for c in ("id", "message_id", "size_bytes")},
            **self._message_columns(),
        )
        if self.bounded:
            return capped(source, [("sender_id", "bounded.message_id, bounded.id")])
        return source

    # ---- the statements the sampler runs

    def catalog(self) -> sql.SQL:
        return sql.SQL(template("catalog"))

    def window_end(self) -> sql.Composed:
        return sql.SQL(template("window_end")).format(
            messages=self._table("messages"), m_created_at=self._col("messages", "created_at"),
            m_id=self._col("messages", "id"),
        )

    def messages(self) -> sql.Composed:
        """Lengths by device and, when the source has attachments, the attachments (one statement)."""
        attachments = (
            sql.SQL("\nUNION ALL (\n{}\n)").format(sql.SQL(template("attachments")).format(
                attachments_of_window=self.attachments_of_window()))
            if self.mapping.has_table("attachments") else sql.SQL("")
        )
        return sql.SQL(template("messages")).format(
            window_messages=self.window_messages(),
            device_label=_enum_expression(sql.SQL("by_device.device"), DEVICES, None),
        ) + attachments

    def message_senders(self) -> sql.Composed:
        return sql.SQL(template("message_senders")).format(window_messages=self.window_messages())

    def population(self) -> sql.Composed:
        primary_device = (
            _enum_expression(sql.SQL("u.{}").format(self._col("users", "primary_device")), DEVICES, None)
            if self.mapping.has_column("users", "primary_device") else sql.SQL("NULL::text")
        )
        return sql.SQL(template("population")).format(
            users=self._table("users"), conversations=self._table("conversations"), u_primary_device=primary_device
        )

    def conversations(self) -> sql.Composed:
        return sql.SQL(template("conversations")).format(
            window_messages=self.window_messages(),
            participants_source=self.participants_source(),
            conversations=self._table("conversations"),
            c_id=self._col("conversations", "id"),
            c_kind=self._col("conversations", "kind"),
            room_token=token_expression(sql.SQL("conversation_id")),
        )

    def reads(self) -> sql.Composed:
        return sql.SQL(template("reads")).format(
            sampled_messages=self.window_messages(receipt_sample=self.receipt_sampled),
            reads_of_window=self.reads_of_window(),
        )
