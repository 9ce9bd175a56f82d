"""The one door between the sampler and the database: every statement goes through here.

`AggregateExecutor` runs a statement, records what ran and the *shape* of what came back (column
names, value types, row count, time), and refuses results that do not look like aggregates: more
than `max_rows` rows, or a text value that is neither a known label nor a 16-hex token. The log
lets tests (and operators) prove that no row-level value was fetched.

Connections are read-only twice over: the session default (`default_transaction_read_only=on`,
sent in the startup packet) and the transaction itself (`READ ONLY`, REPEATABLE READ so every
statement sees one snapshot). A `statement_timeout` bounds each statement.

With several sessions (`jobs`), the first exports its snapshot and the others import it
(`SET TRANSACTION SNAPSHOT`), so statements running concurrently on different connections all
see exactly the same data.
"""

from __future__ import annotations

import queue
import re
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from synth_pipeline.errors import SynthError
from synth_pipeline.infra.dsn import connect, dsn_params

APPLICATION_NAME = "synth-pipeline-sampler"
MAX_RESULT_ROWS = 200_000
TOKEN = re.compile(r"^[0-9a-f]{16}$")
SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+-[0-9]+$")


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
    jobs: int = 2  # concurrent sessions (statements run side by side on one snapshot)

    def options(self) -> str:
        return (
            "-c default_transaction_read_only=on"
            f" -c statement_timeout={int(self.statement_timeout_s)}s"
            f" -c work_mem={int(self.work_mem_mb)}MB"
        )


@dataclass(frozen=True)
class Task:
    name: str
    statement: sql.Composable
    params: dict


@dataclass(frozen=True)
class DependentTask:
    """A task built from the rows of an earlier task of the same `run_all` (named `after`)."""

    name: str
    after: str
    build: Callable[[list[tuple]], Task]


def connect_read_only(dsn: str, settings: SessionSettings = SessionSettings()) -> psycopg.Connection:
    """A read-only session on the source (the DSN's own `options` are kept, ours appended)."""
    existing = dsn_params(dsn).get("options") or ""
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
    workers: list[psycopg.Connection] = field(default_factory=list)

    def run(self, name: str, statement: sql.Composable, params: dict | None = None) -> list[tuple]:
        """Run one statement on the first session and log it."""
        rows, record = self._execute(self.conn, Task(name, statement, params or {}))
        self.log.append(record)
        return rows

    def run_all(self, tasks: Sequence[Task | DependentTask]) -> list[list[tuple]]:
        """Run tasks concurrently, one per session at a time, in list order; results and log in task order.

        A `DependentTask` waits for the task it names (which must come earlier in the list, so it is
        already running or done) before it takes a session.
        """
        names = [task.name for task in tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"task names must be unique: {names}")
        sessions: queue.Queue[psycopg.Connection] = queue.Queue()
        for conn in [self.conn, *self.workers]:
            sessions.put(conn)
        started: dict[str, Future] = {}

        def on_free_session(task: Task | DependentTask):
            if isinstance(task, DependentTask):
                rows, _ = started[task.after].result()
                task = task.build(rows)
            conn = sessions.get()
            try:
                return self._execute(conn, task)
            finally:
                sessions.put(conn)

        with ThreadPoolExecutor(max_workers=sessions.qsize()) as pool:
            for task in tasks:
                if isinstance(task, DependentTask) and task.after not in started:
                    raise ValueError(f"task {task.name!r} needs {task.after!r}, which must come before it")
                started[task.name] = pool.submit(on_free_session, task)
            outcomes = [started[name].result() for name in names]
        self.log.extend(record for _, record in outcomes)
        return [rows for rows, _ in outcomes]

    def share_snapshot(self, dsn: str, settings: SessionSettings) -> None:
        """Open `settings.jobs - 1` more sessions on this session's snapshot."""
        if settings.jobs < 2:
            return
        (snapshot_id,), = self._checked_rows("export_snapshot", sql.SQL("SELECT pg_export_snapshot()"), SNAPSHOT_ID)
        for _ in range(settings.jobs - 1):
            worker = connect_read_only(dsn, settings)
            self.workers.append(worker)
            rows, record = self._execute(worker, Task(
                "import_snapshot", sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot_id)), {}))
            self.log.append(record)

    def close(self) -> None:
        for worker in self.workers:
            worker.close()
        self.workers.clear()

    def _checked_rows(self, name: str, statement: sql.Composable, pattern: re.Pattern) -> list[tuple]:
        """A statement whose only result is one text value of a fixed, non-data format."""
        with self.conn.cursor() as cursor:
            cursor.execute(statement)
            rows = cursor.fetchall()
        if len(rows) != 1 or not isinstance(rows[0][0], str) or not pattern.match(rows[0][0]):
            raise SynthError(f"sampler statement {name!r} returned an unexpected result")
        self.log.append(StatementRecord(name, statement.as_string(self.conn), (), ("value",), (("str",),), (), 0.0))
        return rows

    def _execute(self, conn: psycopg.Connection, task: Task) -> tuple[list[tuple], StatementRecord]:
        name, statement, params = task.name, task.statement, task.params
        text = statement.as_string(conn) if isinstance(statement, sql.Composable) else str(statement)
        started = time.monotonic()
        try:
            with conn.cursor() as cursor:
                cursor.execute(statement, params)
                rows = cursor.fetchmany(self.max_rows + 1) if cursor.description else []
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
        return rows, StatementRecord(
            name=name, sql=text, parameter_names=tuple(sorted(params)), columns=columns,
            value_types=_value_types(rows, len(columns)), rows=tuple(tuple(r) for r in rows),
            seconds=time.monotonic() - started,
        )

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
