"""`load`: shards -> an isolated schema of a perf database, at COPY speed, crash-safe.

Order of work (docs/perf-database.md):
1. refusals before anything is written: schema name, production source, target rule
   (safety.py), a schema holding tables the loader did not create or another shard set;
2. the schema's advisory lock (one loader per schema; a killed loader's lock dies with it);
3. every file of the partitions still to load: locally existence, size, sha256 and Parquet schema,
   on an object store existence and size (shards.py `verify_partitions`);
4. a RUNNING row in synth_meta.load_runs and `run_<id>.json` beside the shards;
5. the tables, without keys or indexes (schema/ddl.py `create_table_statement`), then per
   partition (users first) ONE transaction: each file read once into memory, its size, sha256 and
   Parquet schema checked on those bytes (shards.py `read_verified`; a mismatch rolls the partition
   back), their binary COPY (copy_binary.py), and the partition's row in synth_meta.shard_ledger. `jobs` connections load partitions side by side.
   A kill loses at most the partitions in flight;
6. primary keys, uniques, the chat indexes, ANALYZE, then foreign keys (constraints.py);
7. grants for the environment's app and read-only roles; the run COMPLETED (or FAILED with
   its error), the local load registry and the audit log updated.
A re-run skips partitions in the ledger; a re-run of a complete load changes nothing.
The shard directory is local or a shard-store URI (`s3://bucket/prefix`, infra/shard_store.py):
reads and `run_<id>.json` go through the shard set's one store (one filesystem object).
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
from psycopg import sql
from psycopg.copy import LibpqWriter

from synth_pipeline.errors import SynthError
from synth_pipeline.infra.dsn import connect, redact_dsn
from synth_pipeline.infra.shard_store import Location
from synth_pipeline.loader import audit, constraints, meta, registry
from synth_pipeline.loader.lanes import bulk_session, run_lanes
from synth_pipeline.loader.copy_binary import COPY_SIGNATURE, COPY_TRAILER, DEFAULT_BATCH_ROWS, BatchStream, CopyColumn, copy_order
from synth_pipeline.loader.safety import check_target, refuse_source, validate_schema_name
from synth_pipeline.loader.shards import ShardSet, files_in_load_order, read_shard_set, read_verified, verify_partitions
from synth_pipeline.schema.ddl import create_table_statement
from synth_pipeline.schema.logical import TABLE_ORDER, table as logical_table
from synth_pipeline.schema.mapping import Mapping, load_mapping

log = logging.getLogger(__name__)

DEFAULT_TTL_DAYS = 30
# Two connections loading partitions side by side: 4.7 s instead of 8.1 s for the five dev-band
# shards on this 2-core machine (docs/perf-database.md, "Measured").
DEFAULT_JOBS = 2
# Test hooks: smaller batches and a pause after each one, so a test can SIGKILL mid-partition.
BATCH_ROWS_ENV = "SYNTH_LOADER_BATCH_ROWS"
THROTTLE_ENV = "SYNTH_LOADER_THROTTLE_S"
_LOCK_CLASS = 0x5359  # first key of the per-schema advisory lock



@dataclass
class LoadResult:
    run_id: str
    schema: str
    env: str | None
    status: str
    rows: dict[str, int]
    expires_at: str
    partitions_loaded: list[str] = field(default_factory=list)
    partitions_skipped: list[str] = field(default_factory=list)
    copy_s: float = 0.0
    index_s: float = 0.0
    duration_s: float = 0.0
    run_file: Path | str | None = None  # a Path for local shards, else the URI without credentials
    already_complete: bool = False
    steps: list[tuple[str, float]] = field(default_factory=list)  # post-load statements and their seconds


PartitionProgress = Callable[[str, int, float], None]


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def load_shards(shards_dir: Location, target_dsn: str, schema: str, *, mapping: Mapping | str = "reference",
                ttl_days: float = DEFAULT_TTL_DAYS, source_url: str | None = None, jobs: int = DEFAULT_JOBS,
                progress: PartitionProgress | None = None, source_urls: Iterable[str] = ()) -> LoadResult:
    """Load a shard directory into `schema` of `target_dsn`; see the module docstring.

    The production source is refused first: `source_url` (else SYNTH_SOURCE_URL) and every one of `source_urls`.

    `progress(partition, rows, seconds)` is called after each partition commits (from the lane's thread).
    """
    mapping = load_mapping(mapping) if isinstance(mapping, str) else mapping
    validate_schema_name(schema)
    if ttl_days < 0:
        raise SynthError(f"--ttl-days must be >= 0, got {ttl_days}")
    if jobs < 1:
        raise SynthError(f"--jobs must be >= 1, got {jobs}")
    refuse_source(target_dsn, source_urls, source_url=source_url)
    shard_set = read_shard_set(shards_dir)
    with connect(target_dsn, purpose="perf target", autocommit=True) as conn:
        env = check_target(conn, schema)
        _lock_schema(conn, schema)
        managed, done = _inspect_schema(conn, schema, mapping, shard_set)
        if managed is not None and managed.state == "COMPLETE":
            return _already_complete(conn, schema, env)
        pending = [p for p in shard_set.partitions if p.name not in done]
        verify_partitions(shard_set, pending)
        loader = _Loader(conn, target_dsn, schema, env, mapping, shard_set, ttl_days, jobs, progress)
        return loader.run(managed, pending, skipped=sorted(done))


def _lock_schema(conn: psycopg.Connection, schema: str) -> None:
    got = conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (_LOCK_CLASS, schema)).fetchone()[0]
    if not got:
        raise SynthError(f"another load of schema {schema!r} is running on this database; wait for it or choose another --schema")


def _inspect_schema(conn: psycopg.Connection, schema: str, mapping: Mapping,
                    shard_set: ShardSet) -> tuple[meta.ManagedSchema | None, dict[str, dict[str, int]]]:
    """Refusals that need the database (read-only). Returns (registration, loaded partitions)."""
    managed = meta.managed_schema(conn, schema)
    exists = meta.schema_exists(conn, schema)
    tables = set(meta.schema_tables(conn, schema)) if exists else set()
    # Functions, types...: the loader creates none, and teardown's DROP SCHEMA ... CASCADE would take them.
    foreign_objects = meta.schema_foreign_objects(conn, schema) if exists else []
    if foreign_objects:
        raise SynthError(
            f"refused: schema {schema!r} holds {foreign_objects[0]} (and {len(foreign_objects) - 1} more object(s)) "
            "that the loader did not create; choose another --schema"
            if len(foreign_objects) > 1 else
            f"refused: schema {schema!r} holds {foreign_objects[0]}, which the loader did not create; choose another --schema"
        )
    if managed is None:
        if tables:
            raise SynthError(
                f"refused: schema {schema!r} holds tables the loader did not create (e.g. {sorted(tables)[0]!r}); "
                "choose another --schema"
            )
        return None, {}
    if managed.manifest_sha256 != shard_set.manifest_sha256 or managed.mapping_sha256 != mapping.sha256:
        raise SynthError(
            f"refused: schema {schema!r} already holds a load of another shard set or mapping; tear it down "
            f"(synth-pipeline teardown --schema {schema}) or choose another --schema"
        )
    foreign = tables - _mapped_tables(mapping)
    if foreign:
        raise SynthError(f"refused: schema {schema!r} holds table {sorted(foreign)[0]!r} that the loader did not create")
    if not exists:  # dropped by hand: the ledger is stale, start over
        return managed, {}
    return managed, meta.loaded_partitions(conn, schema)


def _mapped_tables(mapping: Mapping) -> set[str]:
    return {mapping.table_name(t) for t in TABLE_ORDER if mapping.has_table(t)}


def _already_complete(conn: psycopg.Connection, schema: str, env: str | None) -> LoadResult:
    run = meta.latest_run(conn, schema) or {}
    return LoadResult(
        run_id=run.get("run_id", ""), schema=schema, env=env, status="COMPLETED", rows=dict(run.get("rows") or {}),
        expires_at=_iso(run.get("expires_at")), already_complete=True,
    )


def _iso(value: Any) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else ""


def copy_columns(mapping: Mapping, logical: str) -> list[CopyColumn]:
    """The mapped columns of a logical table, in copy order (fixed width first, text last)."""
    columns = [CopyColumn(c.name, c.pg_type) for c in logical_table(logical).columns if mapping.has_column(logical, c.name)]
    return copy_order(columns)


def copy_statement(schema: str, mapping: Mapping, logical: str, columns: list[CopyColumn]) -> sql.Composed:
    return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
        mapping.table(schema, logical), mapping.columns(logical, [c.name for c in columns])
    )


def copy_parquet(conn: psycopg.Connection, source: bytes | pa.Buffer, schema: str, mapping: Mapping,
                 logical: str, *, batch_rows: int | None = None) -> int:
    """Stream one Parquet file into its table with binary COPY; returns the rows copied. `source`: the
    file's bytes (as verified by shards.read_verified)."""
    columns = copy_columns(mapping, logical)
    batch_rows = batch_rows or int(os.environ.get(BATCH_ROWS_ENV) or DEFAULT_BATCH_ROWS)
    throttle_s = float(os.environ.get(THROTTLE_ENV) or 0)
    with conn.cursor() as cur:
        # Throttled (tests): flush every batch so the server's COPY progress is observable.
        writer = LibpqWriter(cur, flush_threshold=0) if throttle_s else None
        with cur.copy(copy_statement(schema, mapping, logical, columns), writer=writer) as copy:
            copy.write(COPY_SIGNATURE)
            with BatchStream(pa.BufferReader(source), columns, batch_rows=batch_rows) as stream:
                for _rows, payload in stream:
                    copy.write(payload)
                    if throttle_s:
                        time.sleep(throttle_s)
            copy.write(COPY_TRAILER)
        return cur.rowcount


class _Loader:
    """One load run: the steps 4-7 of the module docstring."""

    def __init__(self, conn: psycopg.Connection, dsn: str, schema: str, env: str | None, mapping: Mapping,
                 shard_set: ShardSet, ttl_days: float, jobs: int, progress: PartitionProgress | None = None) -> None:
        self.conn, self.dsn, self.schema, self.env = conn, dsn, schema, env
        self.progress = progress
        self.mapping, self.shard_set, self.ttl_days, self.jobs = mapping, shard_set, ttl_days, jobs
        self.run_id = new_run_id()
        self.started = time.monotonic()
        self.record: dict[str, Any] = {}
        self.run_extra: dict[str, Any] = {}
        self.steps: list[tuple[str, float]] = []  # (statement, seconds) of the post-load phase
        self.run_name = f"run_{self.run_id}.json"
        self.run_file = shard_set.store.location(self.run_name) if shard_set.store.is_local else shard_set.display(self.run_name)

    def run(self, managed: meta.ManagedSchema | None, pending: list, skipped: list[str]) -> LoadResult:
        bulk_session(self.conn)
        meta.ensure_meta(self.conn)
        interrupted = self._claim(managed)
        self._write_run_file(interrupted=interrupted, skipped=skipped)
        audit.append("load_started", self._audit_details())
        try:
            result = self._load(pending, skipped)
        except BaseException as exc:
            self._fail(exc)
            raise
        audit.append("load_finished", {**self._audit_details(), "status": "COMPLETED", "rows": result.rows})
        return result

    def _claim(self, managed: meta.ManagedSchema | None) -> list[str]:
        """Create/register the schema, close interrupted runs, insert this RUNNING run."""
        with self.conn.transaction():
            if managed is None:
                self.conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
                meta.register_schema(self.conn, meta.ManagedSchema(
                    schema_name=self.schema, mapping_name=self.mapping.name, mapping_path=self.mapping.source_path,
                    mapping_sha256=self.mapping.sha256, manifest_sha256=self.shard_set.manifest_sha256,
                    expected_rows=self.expected_rows(), state="LOADING",
                ))
            elif not meta.schema_exists(self.conn, self.schema):
                self.conn.execute("DELETE FROM synth_meta.shard_ledger WHERE schema_name = %s", (self.schema,))
                self.conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
            present = set(meta.schema_tables(self.conn, self.schema))
            for logical in TABLE_ORDER:
                if self.mapping.has_table(logical) and self.mapping.table_name(logical) not in present:
                    self.conn.execute(create_table_statement(self.schema, self.mapping, logical))
            interrupted = meta.fail_interrupted_runs(self.conn, self.schema)
            manifest = self.shard_set.manifest
            started_at, expires_at = self.conn.execute(
                "SELECT now(), now() + interval '1 day' * %s", (self.ttl_days,)
            ).fetchone()
            self.record = {
                "run_id": self.run_id, "schema_name": self.schema, "spec_sha256": manifest.spec_sha256,
                "seed": manifest.seed, "band": manifest.band, "mapping": self.mapping.name,
                "manifest_sha256": self.shard_set.manifest_sha256, "shards_dir": self._shards_dir(),
                "started_at": started_at, "expires_at": expires_at, "status": "RUNNING", "rows": {}, "errors": [],
            }
            meta.insert_run(self.conn, self.record)
        return interrupted

    def _shards_dir(self) -> str:
        store = self.shard_set.store
        return str(store.local.resolve()) if store.local is not None else store.display()

    def expected_rows(self) -> dict[str, int]:
        table_rows = self.shard_set.manifest.table_rows
        return {t: int(table_rows.get(t, 0)) for t in TABLE_ORDER if self.mapping.has_table(t)}

    def _load(self, pending: list, skipped: list[str]) -> LoadResult:
        copy_started = time.monotonic()
        self._copy_partitions(pending)
        copy_s = time.monotonic() - copy_started
        index_started = time.monotonic()
        self._build_constraints()
        index_s = time.monotonic() - index_started
        rows = self._total_rows()
        with self.conn.transaction():
            self._grant()
            meta.set_schema_state(self.conn, self.schema, "COMPLETE")
            finished_at = self.conn.execute("SELECT now()").fetchone()[0]
            duration_s = time.monotonic() - self.started
            fields = {"status": "COMPLETED", "finished_at": finished_at, "duration_s": duration_s, "copy_s": copy_s,
                      "index_s": index_s, "rows": rows}
            meta.update_run(self.conn, self.run_id, **fields)
        self.record.update(fields)
        self._write_run_file(loaded=[p.name for p in pending], skipped=skipped)
        registry.record_load(dsn=self.dsn, env=self.env, schema=self.schema, run_id=self.run_id,
                             expires_at=_iso(self.record["expires_at"]))
        return LoadResult(
            run_id=self.run_id, schema=self.schema, env=self.env, status="COMPLETED", rows=rows,
            expires_at=_iso(self.record["expires_at"]), partitions_loaded=[p.name for p in pending],
            partitions_skipped=skipped, copy_s=copy_s, index_s=index_s, duration_s=duration_s, run_file=self.run_file,
            steps=self.steps,
        )

    def _copy_partitions(self, pending: list) -> None:
        """Every pending partition, on `jobs` connections side by side (the first error wins)."""
        work: queue.SimpleQueue = queue.SimpleQueue()
        for partition in pending:
            work.put(partition)

        def drain(conn: psycopg.Connection, failed: threading.Event) -> None:
            while not failed.is_set():
                try:
                    partition = work.get_nowait()
                except queue.Empty:
                    return
                self._load_partition(conn, partition)

        run_lanes(self.conn, self.dsn, [drain] * max(1, min(self.jobs, len(pending))))

    def _load_partition(self, conn: psycopg.Connection, partition) -> None:
        """One transaction: COPY every file of the partition, then its ledger row."""
        rows: dict[str, int] = {}
        started = time.monotonic()
        with conn.transaction():
            for shard_file in files_in_load_order(partition):
                if not self.mapping.has_table(shard_file.table):
                    continue  # the target schema has no such table (an optional table)
                data = read_verified(self.shard_set, shard_file)  # read once; what is verified is what is loaded
                copied = copy_parquet(conn, data, self.schema, self.mapping, shard_file.table)
                del data
                if copied != shard_file.rows:
                    raise SynthError(f"{shard_file.path}: COPY loaded {copied} rows, the manifest says {shard_file.rows}")
                rows[shard_file.table] = copied
            meta.record_partition(conn, self.schema, partition.name, self.run_id, self.shard_set.manifest_sha256, rows)
        seconds = time.monotonic() - started
        log.info("loaded %s into %s: %s rows in %.2f s", partition.name, self.schema, sum(rows.values()), seconds)
        if self.progress is not None:
            self.progress(partition.name, sum(rows.values()), seconds)

    def _build_constraints(self) -> None:
        """Keys, uniques, indexes, ANALYZE, then foreign keys, on `jobs` lanes (constraints.py)."""
        def on_step(statement: str, seconds: float) -> None:
            self.steps.append((statement, seconds))
            log.info("%.2f s  %s", seconds, statement)

        constraints.build(self.conn, self.dsn, self.schema, self.mapping, self.expected_rows(), jobs=self.jobs, on_step=on_step)

    def _grant(self) -> None:
        """In a provisioned environment: DML for the app role, SELECT for the read-only role."""
        if self.env is None:
            return
        row = self.conn.execute(
            "SELECT app_role, readonly_role FROM synth_meta.environment WHERE env = %s", (self.env,)
        ).fetchone()
        if row is None:
            return
        app, readonly = (sql.Identifier(r) for r in row)
        schema = sql.Identifier(self.schema)
        self.conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}, {}").format(schema, app, readonly))
        self.conn.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(schema, app))
        self.conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(schema, readonly))

    def _total_rows(self) -> dict[str, int]:
        totals = {t: 0 for t in TABLE_ORDER if self.mapping.has_table(t)}
        for rows in meta.loaded_partitions(self.conn, self.schema).values():
            for table_name, count in rows.items():
                totals[table_name] = totals.get(table_name, 0) + int(count)
        return totals

    def _fail(self, exc: BaseException) -> None:
        message = str(exc) if isinstance(exc, SynthError) else f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        self.record.update(status="FAILED", errors=[*self.record.get("errors", []), message])
        try:
            with self.conn.transaction():
                meta.update_run(self.conn, self.run_id, status="FAILED", finished_at=_now_sql(self.conn),
                                duration_s=time.monotonic() - self.started, errors=self.record["errors"])
        except psycopg.Error:
            log.warning("could not record the failure of run %s (the next load marks it FAILED)", self.run_id)
        self._write_run_file()
        audit.append("load_finished", {**self._audit_details(), "status": "FAILED", "error": message})

    def _write_run_file(self, **extra: Any) -> None:
        self.run_extra.update(extra)
        document = {k: (_iso(v) if hasattr(v, "strftime") else v) for k, v in self.record.items()}
        document.update(target=redact_dsn(registry.dsn_without_password(self.dsn)), env=self.env, **self.run_extra)
        document.pop("schema_name", None)
        document["schema"] = self.schema
        try:
            self.shard_set.store.write_json(self.run_name, document)
        except OSError as exc:
            log.warning("cannot write %s (%s); the run is recorded in synth_meta.load_runs", self.run_file, exc.strerror or exc)

    def _audit_details(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "schema": self.schema, "env": self.env,
                "target": registry.dsn_without_password(self.dsn), "mapping": self.mapping.name,
                "manifest_sha256": self.shard_set.manifest_sha256}


def _now_sql(conn: psycopg.Connection):
    return conn.execute("SELECT now()").fetchone()[0]
