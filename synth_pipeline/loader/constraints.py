"""The post-load phase: primary keys, uniques, chat indexes, ANALYZE, then foreign keys.

Three phases; the first and last run on `jobs` connections ("lanes") side by side:
1. per table: primary key, unique constraints, chat indexes, VACUUM (ANALYZE) (statistics, and
   the visibility map and hint bits set once, as on a long-lived production table, so the first
   queries of a perf test neither rewrite pages nor miss index-only scans);
2. every foreign key added NOT VALID (instant: no scan);
3. per referencing table: VALIDATE CONSTRAINT of its foreign keys (one anti-join each).
Tables are dealt to lanes largest first (by rows), so on the dev band the 9M-row message_reads
and the 5M-row messages build at the same time: 25 s instead of 38 s on this 2-core machine,
because foreign-key validation runs serially and index builds leave cores idle while they merge
(docs/perf-database.md, "Measured"). Adding a foreign key with its validation locks the
referenced table in SHARE ROW EXCLUSIVE mode, so two of them on the same parent (reads and
attachments both reference messages) would wait for each other; VALIDATE CONSTRAINT only takes
ROW SHARE on the parent, so the validations really run side by side. The end state is the same:
validated constraints. VACUUM (ANALYZE) runs before the validations so that they are planned
with statistics and can use index-only scans (see MERGE_VALIDATION).

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
    table: str  # logical table the step works on (the lane unit)
    statement: sql.Composable | None  # None: validate the table's NOT VALID foreign keys


def phases(schema: str, mapping: Mapping) -> list[list[Step]]:
    tables = [t for t in TABLE_ORDER if mapping.has_table(t)]
    keys_and_indexes = [
        Step(t, statement)
        for t in tables
        for statement in (
            *ddl.primary_key_statements(schema, mapping, [t]), *ddl.unique_statements(schema, mapping, [t]),
            *ddl.index_statements(schema, mapping, [t]), sql.SQL("VACUUM (ANALYZE) {}").format(mapping.table(schema, t)),
        )
    ]
    add_foreign_keys = [
        Step("(all)", sql.SQL("{} NOT VALID").format(s)) for t in tables for s in ddl.foreign_key_statements(schema, mapping, [t])
    ]
    validate = [Step(t, None) for t in tables if ddl.foreign_key_statements(schema, mapping, [t])]
    return [keys_and_indexes, add_foreign_keys, validate]


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
            "SELECT t.relname, c.conname FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = %s AND c.contype = ANY(%s)",
            (schema, list(kinds)),
        ).fetchall()
        for table, name in rows:
            conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.Identifier(schema, table), sql.Identifier(name)))
            dropped += 1
    for (name,) in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s", (schema,)).fetchall():
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(schema, name)))
        dropped += 1
    return dropped


def build(conn: psycopg.Connection, dsn: str, schema: str, mapping: Mapping, rows: dict[str, int], *, jobs: int,
          on_step: Callable[[str, float], None]) -> None:
    """Run the phases; lane 0 uses `conn`, the others their own connections to `dsn`."""
    with conn.transaction():
        if drop_existing(conn, schema):
            log.info("dropped the keys and indexes of an interrupted run of schema %s", schema)
    for phase in phases(schema, mapping):
        lanes = deal(phase, rows, jobs)
        run_lanes(conn, dsn, [partial(_run_steps, schema, mapping, lane, on_step) for lane in lanes])


def _run_steps(schema: str, mapping: Mapping, steps: list[Step], on_step: Callable[[str, float], None],
               conn: psycopg.Connection, failed: threading.Event) -> None:
    for step in steps:
        validating = step.statement is None
        statements = _validations(conn, schema, mapping, step.table) if validating else [step.statement]
        if validating:  # see MERGE_VALIDATION
            conn.execute("SELECT set_config('enable_hashjoin', 'off', false)")
        try:
            for statement in statements:
                if failed.is_set():
                    return
                started = time.monotonic()
                conn.execute(statement)
                on_step(statement.as_string(conn), time.monotonic() - started)
        finally:
            if validating:
                conn.execute("RESET enable_hashjoin")


# MERGE_VALIDATION: after VACUUM has set the visibility map, a foreign key's validation query is
# an anti-join of two indexes in key order (every foreign-key column leads an index of the chat
# schema): a merge join of index-only scans. The planner still prefers a hash join that reads both
# heaps; reads -> messages took 1.5-2.2 s as a merge join and 6.5-7.0 s as a hash join (dev band).
# The setting only applies to the validation statements of this session.
_NOT_VALID_FOREIGN_KEYS = (
    "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f' AND NOT convalidated ORDER BY 1"
)


def _validations(conn: psycopg.Connection, schema: str, mapping: Mapping, logical: str) -> list[sql.Composable]:
    table = mapping.table(schema, logical)
    names = [r[0] for r in conn.execute(_NOT_VALID_FOREIGN_KEYS, (table.as_string(conn),))]
    return [sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(table, sql.Identifier(name)) for name in names]
