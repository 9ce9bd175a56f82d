"""The logical chat model: six tables, their columns, keys and the chat indexes.

This is the contract of DESIGN.md section 4. Everything physical (table and column names of a
real deployment) goes through a `Mapping`; everything here is in logical names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEVICES = ("web", "ios", "android")
CONVERSATION_KINDS = ("direct", "group")
ATTACHMENT_KINDS = ("image", "video", "audio", "file")

# The identity contract (DESIGN.md section 4): every synthetic user's text columns are a function of
# its id. These patterns match the generated values (generator/validate.py, privacy/dataset_quality.py).
EMAIL_PATTERN = r"^syn_user_[0-9]+@synthetic\.test$"
USERNAME_PATTERN = r"^synuser[0-9]+$"
FIRST_NAME = "User"
LAST_NAME_PATTERN = r"^[0-9]+$"
BIO_PATTERN = r"^Synthetic test user [0-9]+$"


@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str  # one of: bigint, text, boolean, timestamptz
    nullable: bool = False
    allowed_values: tuple[str, ...] | None = None  # enforced by a CHECK constraint
    optional: bool = False  # a source may lack this column (reported as absent, never an error)


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class Index:
    suffix: str  # physical index name is "<physical table>_<suffix>"
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    unique: tuple[tuple[str, ...], ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    indexes: tuple[Index, ...] = field(default=())
    optional: bool = False  # a source may lack the whole table

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table {self.name!r} has no logical column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


LOGICAL_TABLES: tuple[Table, ...] = (
    Table(
        name="users",
        columns=(
            Column("id", "bigint"),
            Column("email", "text"),
            Column("username", "text"),
            Column("first_name", "text"),
            Column("last_name", "text"),
            Column("bio", "text", nullable=True),
            Column("primary_device", "text", nullable=True, allowed_values=DEVICES, optional=True),
            Column("is_active", "boolean"),
            Column("created_at", "timestamptz"),
        ),
        primary_key=("id",),
        unique=(("email",), ("username",)),
    ),
    Table(
        name="conversations",
        columns=(
            Column("id", "bigint"),
            Column("name", "text", nullable=True),
            Column("kind", "text", allowed_values=CONVERSATION_KINDS),
            Column("created_at", "timestamptz"),
        ),
        primary_key=("id",),
    ),
    Table(
        name="conversation_participants",
        columns=(
            Column("conversation_id", "bigint"),
            Column("user_id", "bigint"),
            Column("joined_at", "timestamptz"),
        ),
        primary_key=("conversation_id", "user_id"),
        foreign_keys=(
            ForeignKey(("conversation_id",), "conversations", ("id",)),
            ForeignKey(("user_id",), "users", ("id",)),
        ),
        indexes=(Index("user_id_idx", ("user_id",)),),
    ),
    Table(
        name="messages",
        columns=(
            Column("id", "bigint"),
            Column("conversation_id", "bigint"),
            Column("sender_id", "bigint"),
            Column("content", "text"),
            Column("device", "text", nullable=True, allowed_values=DEVICES, optional=True),
            Column("created_at", "timestamptz"),
        ),
        primary_key=("id",),
        foreign_keys=(
            ForeignKey(("conversation_id",), "conversations", ("id",)),
            ForeignKey(("sender_id",), "users", ("id",)),
        ),
        indexes=(
            Index("conversation_id_created_at_idx", ("conversation_id", "created_at")),
            Index("sender_id_created_at_idx", ("sender_id", "created_at")),
        ),
    ),
    Table(
        name="attachments",
        columns=(
            Column("id", "bigint"),
            Column("message_id", "bigint"),
            Column("kind", "text", allowed_values=ATTACHMENT_KINDS),
            Column("mime_type", "text"),
            Column("size_bytes", "bigint"),
        ),
        primary_key=("id",),
        foreign_keys=(ForeignKey(("message_id",), "messages", ("id",)),),
        indexes=(Index("message_id_idx", ("message_id",)),),
        optional=True,
    ),
    Table(
        name="message_reads",
        columns=(
            Column("message_id", "bigint"),
            Column("user_id", "bigint"),
            Column("read_at", "timestamptz"),
        ),
        primary_key=("message_id", "user_id"),
        foreign_keys=(
            ForeignKey(("message_id",), "messages", ("id",)),
            ForeignKey(("user_id",), "users", ("id",)),
        ),
        indexes=(Index("user_id_idx", ("user_id",)),),
        optional=True,
    ),
)

# Parents before children: the order to create and load tables in.
TABLE_ORDER: tuple[str, ...] = tuple(t.name for t in LOGICAL_TABLES)
_BY_NAME = {t.name: t for t in LOGICAL_TABLES}


def table(name: str) -> Table:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no logical table {name!r}; known: {', '.join(TABLE_ORDER)}") from None
