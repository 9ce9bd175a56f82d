"""The one door between the sampler and the database: every statement goes through here.

`AggregateExecutor` runs a statement, records what ran and the *shape* of what came back (column
names, value types, row count, time), and refuses results that do not look like aggregates: more
than `max_rows` rows, or a text value that is neither a known label nor a 16-hex token. The log
lets tests (and operators) prove that no row-level value was fetched.

Connections are read-only twice over: the session default (`default_transaction_read_only=on`,
sent in the startup packet) and the transaction itself (`READ ONLY`, REPEATABLE READ so every
statement sees one snapshot). A `statement_timeout` bounds each statement.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg
from psycopg import conninfo, sql

from synth_pipeline.errors import SynthError
from synth_pipeline.infra.dsn import connect, redact_dsn

APPLICATION_NAME = "synth-pipeline-sampler"
MAX_RESULT_ROWS = 200_000
TOKEN = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class StatementRecord:
    name: str
    sql: str
    parameter_names: tuple[str, ...]  # names only: values (e.g. HMAC pad keys) are never logged
    columns: tuple[str, ...]
    value_types: tuple[tuple[str, ...], ...]  # per column, the Python types seen
    rows: tuple[tuple, ...]
    seconds: float

    @property
    def row_count(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class SessionSettings:
    statement_timeout_s: int = 1800
    work_mem_mb: int = 128
    # JIT compilation costs more than it saves on these aggregates (measured on PostgreSQL 18).
    jit: bool = False

    def options(self) -> str:
        return (
            "-c default_transaction_read_only=on"
            f" -c statement_timeout={int(self.statement_timeout_s)}s"
            f" -c work_mem={int(self.work_mem_mb)}MB"
            f" -c jit={'on' if self.jit else 'off'}"
        )


def connect_read_only(dsn: str, settings: SessionSettings = SessionSettings()) -> psycopg.Connection:
    """A read-only session on the source (the DSN's own `options` are kept, ours appended)."""
    try:
        existing = conninfo.conninfo_to_dict(dsn).get("options") or ""
    except psycopg.ProgrammingError as exc:
        raise SynthError(f"invalid source database URL {redact_dsn(dsn)!r}: {' '.join(str(exc).split())}") from None
    conn = connect(
        dsn, purpose="source",
        options=f"{existing} {settings.options()}".strip(),
        application_name=APPLICATION_NAME,
        connect_timeout=15,
    )
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    return conn


@dataclass
class AggregateExecutor:
    conn: psycopg.Connection
    allowed_labels: frozenset[str]
    max_rows: int = MAX_RESULT_ROWS
    log: list[StatementRecord] = field(default_factory=list)

    def run(self, name: str, statement: sql.Composable, params: dict | None = None) -> list[tuple]:
        params = params or {}
        text = statement.as_string(self.conn) if isinstance(statement, sql.Composable) else str(statement)
        started = time.monotonic()
        try:
            with self.conn.cursor() as cursor:
                cursor.execute(statement, params)
                rows = cursor.fetchmany(self.max_rows + 1)
                columns = tuple(d.name for d in cursor.description or ())
        except psycopg.errors.QueryCanceled:
            raise SynthError(f"sampler statement {name!r} hit the statement timeout; raise --statement-timeout") from None
        except psycopg.errors.InsufficientPrivilege:
            raise SynthError(f"sampler statement {name!r}: permission denied; grant SELECT on the mapped tables") from None
        except psycopg.Error as exc:
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise SynthError(f"sampler statement {name!r} failed: {first_line}") from None
        if len(rows) > self.max_rows:
            raise SynthError(f"sampler statement {name!r} returned more than {self.max_rows} rows; refusing a non-aggregate result")
        self._check_values(name, rows)
        self.log.append(StatementRecord(
            name=name, sql=text, parameter_names=tuple(sorted(params)), columns=columns,
            value_types=_value_types(rows, len(columns)), rows=tuple(tuple(r) for r in rows),
            seconds=time.monotonic() - started,
        ))
        return rows

    def _check_values(self, name: str, rows: Iterable[tuple]) -> None:
        for row in rows:
            for value in row:
                if isinstance(value, str) and value not in self.allowed_labels and not TOKEN.match(value):
                    raise SynthError(f"sampler statement {name!r} returned a text value that is not a known label; refusing it")
                if isinstance(value, (bytes, bytearray, memoryview)):
                    raise SynthError(f"sampler statement {name!r} returned binary data; refusing it")


def _value_types(rows: list[tuple], width: int) -> tuple[tuple[str, ...], ...]:
    seen: list[set[str]] = [set() for _ in range(width)]
    for row in rows:
        for i, value in enumerate(row):
            seen[i].add(type(value).__name__)
    return tuple(tuple(sorted(s)) for s in seen)
