"""The post-load phase: primary keys, uniques, chat indexes, ANALYZE, then foreign keys.

Two phases, each run on `jobs` connections ("lanes") side by side:
1. per table: primary key, unique constraints, chat indexes, ANALYZE;
2. per referencing table: its foreign keys (PostgreSQL validates each with one anti-join).
Tables are dealt to lanes largest first (by rows), so on the dev band the 9M-row message_reads
and the 5M-row messages build at the same time: 25 s instead of 38 s on this 2-core machine,
because foreign-key validation runs serially and index builds leave cores idle while they merge
(docs/perf-database.md, "Measured"). ANALYZE runs before the foreign keys so their validation
queries are planned with statistics.

Each statement commits on its own. A load killed in this phase stays LOADING; the re-run drops
whatever keys and indexes it finds in the (managed) schema and builds them all again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import psycopg
from psycopg import sql

from synth_pipeline.loader.lanes import run_lanes
from synth_pipeline.schema import ddl
from synth_pipeline.schema.logical import TABLE_ORDER
from synth_pipeline.schema.mapping import Mapping

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Step:
    table: str  # logical table the statement works on (the lane unit)
    statement: sql.Composable


def phases(schema: str, mapping: Mapping) -> list[list[Step]]:
    tables = [t for t in TABLE_ORDER if mapping.has_table(t)]
    keys_and_indexes = [
        Step(t, statement)
        for t in tables
        for statement in (
            *ddl.primary_key_statements(schema, mapping, [t]), *ddl.unique_statements(schema, mapping, [t]),
            *ddl.index_statements(schema, mapping, [t]), sql.SQL("ANALYZE {}").format(mapping.table(schema, t)),
        )
    ]
    foreign_keys = [Step(t, s) for t in tables for s in ddl.foreign_key_statements(schema, mapping, [t])]
    return [keys_and_indexes, foreign_keys]


def deal(steps: list[Step], rows: dict[str, int], lanes: int) -> list[list[Step]]:
    """Group steps by table and deal the tables to `lanes` lanes, largest first (greedy)."""
    by_table: dict[str, list[Step]] = {}
    for step in steps:
        by_table.setdefault(step.table, []).append(step)
    dealt: list[list[Step]] = [[] for _ in range(max(1, lanes))]
    load = [0] * len(dealt)
    for table in sorted(by_table, key=lambda t: -rows.get(t, 0)):
        lane = load.index(min(load))
        dealt[lane] += by_table[table]
        load[lane] += rows.get(table, 0) + 1
    return [lane for lane in dealt if lane]


def drop_existing(conn: psycopg.Connection, schema: str) -> int:
    """Drop foreign keys, then primary keys/uniques, then indexes left in `schema` by an interrupted run."""
    dropped = 0
    for kinds in (("f",), ("p", "u")):
        rows = conn.execute(
            "SELECT c.conrelid::regclass::text, c.conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname = %s AND c.contype = ANY(%s)", (schema, list(kinds)),
        ).fetchall()
        for table, name in rows:
            conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.SQL(table), sql.Identifier(name)))
            dropped += 1
    for (name,) in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s", (schema,)).fetchall():
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(schema, name)))
        dropped += 1
    return dropped


def build(conn: psycopg.Connection, dsn: str, schema: str, mapping: Mapping, rows: dict[str, int], *, jobs: int,
          on_step: Callable[[str, float], None]) -> None:
    """Run both phases; lane 0 uses `conn`, the others their own connections to `dsn`."""
    with conn.transaction():
        if drop_existing(conn, schema):
            log.info("dropped the keys and indexes of an interrupted run of schema %s", schema)
    for phase in phases(schema, mapping):
        run_lanes(conn, dsn, [partial(_run_steps, lane, on_step) for lane in deal(phase, rows, jobs)])


def _run_steps(steps: list[Step], on_step: Callable[[str, float], None], conn: psycopg.Connection,
               failed: threading.Event) -> None:
    for step in steps:
        if failed.is_set():
            return
        started = time.monotonic()
        conn.execute(step.statement)
        on_step(step.statement.as_string(conn), time.monotonic() - started)
