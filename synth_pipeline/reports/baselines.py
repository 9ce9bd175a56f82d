"""Query baselines: the chat product's hot paths before and after the recommended indexes.

A run (`run_baselines`):
0. refuses, with the loader's own rules (loader/safety.py, loader/meta.py), before anything is
   measured or changed: the production source (`source_url`, else SYNTH_SOURCE_URL), a target that
   is neither a provisioned perf database nor a `synth_*` schema, and a schema the loader did not
   create (not in synth_meta.managed_schemas). A run creates and drops indexes, inserts rows in
   rolled-back transactions and VACUUMs: only ever on a loaded copy;
1. resolves the roles: with the loader's provisioned secrets (`.secrets/.env.{env}`) the
   measurements use the read-only analysis role and index changes the owner role; with a plain
   DSN (tests, the embedded server) that DSN does both, and the report says so;
2. chooses parameters from the loaded data by aggregate queries (`queries/parameters.sql`): the
   heaviest room, a median room, the heaviest sender, a median sender, the most-read message;
3. runs every case of the catalog (`CATALOG`: query file x parameter profile) with
   EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON), one warm-up plus `runs` measured runs (`plans.py`);
4. creates the recommended indexes (`RECOMMENDED_INDEXES`, owner role), records size and build
   time, and runs the catalog again;
5. measures the write cost of a batch insert per table (`queries/write_batch.sql`, each batch in a
   transaction that is rolled back): with the base indexes (the recommended ones dropped inside
   the transaction: DROP INDEX is transactional), with the recommended ones added, and with them
   replacing the base indexes they supersede; then VACUUMs the dead rows the batches left;
6. drops the recommended indexes again (unless `keep_indexes`), so the next run starts from the
   same base schema;
7. writes `run_<id>.json` and `run_<id>.md` under the output directory and compares with the
   previous run there: a changed plan shape, or a median time worse by more than the threshold
   (and by more than `REGRESSION_FLOOR_MS`), is flagged as a regression.

The write batches run after both catalog phases because rolled-back rows leave dead tuples and
index entries behind until the VACUUM, which would otherwise slow the "after" measurements.

The "before" state is the schema as the loader leaves it (keys plus the base chat indexes of
`schema/logical.py`); the recommended indexes are genuinely different from those: descending
keyset order with the id tie-breaker and a covering column, covering participant and read
indexes for index-only scans. See docs/fidelity-and-baselines.md for why.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from synth_pipeline.errors import SynthError
from synth_pipeline.fsutil import atomic_write_bytes, atomic_write_json
from synth_pipeline.infra.dsn import connect, dsn_params, same_database
from synth_pipeline.loader.meta import table_counts
from synth_pipeline.paths import state_dir
from synth_pipeline.reports.plans import Measurement, measure
from synth_pipeline.reports.sqltemplate import LogicalSql, load_statement, named_statements, render
from synth_pipeline.schema.mapping import Mapping, load_mapping

log = logging.getLogger(__name__)

STATEMENT_TIMEOUT_MS = 300_000
REGRESSION_FLOOR_MS = 0.5  # a slower median only counts as a regression when also this much slower
PARTICIPANTS_PER_NEW_CONVERSATION = 10


@dataclass(frozen=True)
class Case:
    """One query of the catalog run with one parameter profile."""

    query: str  # file stem under queries/
    profile: str  # parameter profile: heavy_room, typical_room, heavy_user, typical_user, most_read_message

    @property
    def name(self) -> str:
        return f"{self.query}[{self.profile}]"


CATALOG: tuple[Case, ...] = (
    Case("conversation_latest_page", "heavy_room"),
    Case("conversation_latest_page", "typical_room"),
    Case("conversation_page_keyset", "heavy_room"),
    Case("user_conversation_list", "heavy_user"),
    Case("user_conversation_list", "typical_user"),
    Case("user_unread_counts", "heavy_user"),
    Case("user_unread_counts", "typical_user"),
    Case("sender_messages_in_range", "heavy_user"),
    Case("message_read_receipts", "most_read_message"),
    Case("heavy_room_history_scan", "heavy_room"),
)

# profile -> parameter statements of queries/parameters.sql, run in order, each adding columns.
PROFILES: dict[str, tuple[str, ...]] = {
    "heavy_room": ("heavy_room", "page_cursor"),
    "typical_room": ("typical_room", "page_cursor"),
    "heavy_user": ("heavy_user", "user_range"),
    "typical_user": ("typical_user", "user_range"),
    "most_read_message": ("most_read_message",),
}


@dataclass(frozen=True)
class RecommendedIndex:
    table: str  # logical table
    suffix: str  # physical name: <physical table>_<suffix>
    definition: str  # logical column list (sqltemplate placeholders)
    supersedes: str  # suffix of the base index it makes redundant (schema/logical.py)
    serves: tuple[str, ...]  # catalog queries it is for
    why: str

    def physical_name(self, mapping: Mapping) -> str:
        return f"{mapping.table_name(self.table)}_{self.suffix}"[:63]  # the schema/ddl.py naming rule

    def superseded_name(self, mapping: Mapping) -> str:
        return f"{mapping.table_name(self.table)}_{self.supersedes}"[:63]

    def create(self, schema: str, mapping: Mapping) -> sql.Composed:
        name = sql.Identifier(self.physical_name(mapping))
        return sql.SQL("CREATE INDEX {} ON {} ").format(name, mapping.table(schema, self.table)) + render(
            self.definition, schema, mapping, where=self.suffix
        )


RECOMMENDED_INDEXES: tuple[RecommendedIndex, ...] = (
    RecommendedIndex(
        table="messages",
        suffix="conversation_id_created_at_id_desc_idx",
        definition="({messages.conversation_id}, {messages.created_at} DESC, {messages.id} DESC) INCLUDE ({messages.sender_id})",
        supersedes="conversation_id_created_at_idx",
        serves=("conversation_latest_page", "conversation_page_keyset", "heavy_room_history_scan", "user_unread_counts",
                "user_conversation_list"),
        why="keyset pages in (created_at, id) order come straight off the index (no sort for the id tie-breaker, the "
            "cursor is an index bound); sender_id covered for index-only history scans and unread counts",
    ),
    RecommendedIndex(
        table="conversation_participants",
        suffix="user_id_conversation_id_idx",
        definition="({conversation_participants.user_id}, {conversation_participants.conversation_id}) "
                   "INCLUDE ({conversation_participants.joined_at})",
        supersedes="user_id_idx",
        serves=("user_conversation_list", "user_unread_counts"),
        why="a user's memberships (with joined_at) as an index-only scan",
    ),
    RecommendedIndex(
        table="message_reads",
        suffix="user_id_message_id_idx",
        definition="({message_reads.user_id}, {message_reads.message_id})",
        supersedes="user_id_idx",
        serves=("user_unread_counts",),
        why="a user's receipts as an index-only scan, for the unread anti-join",
    ),
)


@dataclass
class BaselineOptions:
    runs: int = 5
    regression_threshold: float = 0.5  # fraction: 0.5 = 50 % slower
    write_rows: int = 20_000
    write_repeats: int = 3
    keep_indexes: bool = False


@dataclass(frozen=True)
class Roles:
    measure_dsn: str
    owner_dsn: str
    description: str
    measure_user: str
    owner_user: str


@dataclass
class CaseResult:
    name: str
    query: str
    profile: str
    description: str
    before: Measurement | None = None
    after: Measurement | None = None
    skipped: str = ""

    @property
    def speedup(self) -> float | None:
        if not self.before or not self.after or self.after.median_ms <= 0:
            return None
        return self.before.median_ms / self.after.median_ms

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("before", "after")}
        out["before"] = self.before.to_dict() if self.before else None
        out["after"] = self.after.to_dict() if self.after else None
        out["speedup"] = None if self.speedup is None else round(self.speedup, 3)
        return out


@dataclass
class IndexResult:
    name: str
    table: str
    definition: str
    supersedes: str
    serves: list[str]
    why: str
    size_bytes: int = 0
    build_ms: float = 0.0


@dataclass
class WriteSample:
    """One timed batch insert, from EXPLAIN (ANALYZE, WAL) of the INSERT: that statement only, so
    other sessions on the server do not count. WAL records are the steady figure (one per heap
    row and one per index entry); bytes include full-page images, which depend on when the last
    checkpoint happened."""

    ms: float
    wal_records: int
    wal_fpi: int
    wal_bytes: int


@dataclass
class WriteCost:
    table: str
    rows: int
    base: WriteSample  # the base indexes
    with_indexes: WriteSample  # the recommended indexes added
    replacing: WriteSample  # the recommended indexes replacing those they supersede

    @staticmethod
    def _ratio(a: float, b: float) -> float:
        return a / b if b else float("nan")

    def ratios(self, scenario: str) -> dict[str, float]:
        sample: WriteSample = getattr(self, scenario)
        return {
            "time": self._ratio(sample.ms, self.base.ms),
            "wal_records": self._ratio(sample.wal_records, self.base.wal_records),
            "wal_bytes": self._ratio(sample.wal_bytes, self.base.wal_bytes),
        }

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for scenario in ("with_indexes", "replacing"):
            out[f"{scenario}_ratios"] = {k: round(v, 4) for k, v in self.ratios(scenario).items()}
        return out


@dataclass
class Regression:
    case: str
    phase: str
    kind: str  # plan | time
    previous: str
    current: str


@dataclass
class BaselineResult:
    run_id: str
    created_at: str
    schema: str
    mapping: str
    server_version: str
    roles: str
    options: BaselineOptions
    parameters: dict[str, dict[str, str]]
    cases: list[CaseResult]
    indexes: list[IndexResult]
    write_costs: list[WriteCost]
    notes: list[str] = field(default_factory=list)
    data_rows: dict[str, int] = field(default_factory=dict)  # rows per table: runs compare only on equal data
    previous_run_id: str | None = None
    regressions: list[Regression] = field(default_factory=list)
    json_path: Path | None = None
    markdown_path: Path | None = None

    def case(self, name: str) -> CaseResult:
        return next(c for c in self.cases if c.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "created_at": self.created_at,
            "schema": self.schema,
            "mapping": self.mapping,
            "server_version": self.server_version,
            "roles": self.roles,
            "options": asdict(self.options),
            "parameters": self.parameters,
            "cases": [c.to_dict() for c in self.cases],
            "indexes": [asdict(i) for i in self.indexes],
            "write_costs": [w.to_dict() for w in self.write_costs],
            "notes": self.notes,
            "data_rows": self.data_rows,
            "previous_run_id": self.previous_run_id,
            "regressions": [asdict(r) for r in self.regressions],
        }

    def markdown_table(self) -> str:
        from synth_pipeline.reports.baseline_report import case_table

        return case_table(self)


# --- roles ----------------------------------------------------------------------------------------

def _user_of(dsn: str) -> str:
    return dsn_params(dsn).get("user") or "(default user)"


def resolve_roles(target_url: str, env: str | None = None) -> Roles:
    """Read-only and owner DSNs for the target: provisioned roles when their secrets exist."""
    from synth_pipeline.loader import secrets_store

    candidates = [env] if env else secrets_store.provisioned_envs()
    for candidate in candidates:
        values = secrets_store.read_env_file(candidate)
        path = secrets_store.env_file(candidate)
        if not values:
            if env:
                raise SynthError(f"no secrets file {path}; run synth-pipeline provision --env {env} first, or omit --env")
            continue
        owner = values.get("DATABASE_URL_OWNER") or values.get("DATABASE_URL")
        readonly = values.get("DATABASE_URL_READONLY")
        if not owner or not readonly:
            if env:
                raise SynthError(f"{path}: needs DATABASE_URL_OWNER and DATABASE_URL_READONLY; re-run synth-pipeline provision")
            continue
        if not same_database(target_url, owner):
            if env:
                raise SynthError(f"--target-url is not the database provisioned for {env} ({path}); pass its URL or omit --env")
            continue
        return Roles(readonly, owner, f"provisioned roles of {candidate} ({path.name}): measurements as "
                     f"{_user_of(readonly)} (read-only), index changes as {_user_of(owner)} (owner)",
                     _user_of(readonly), _user_of(owner))
    user = _user_of(target_url)
    return Roles(target_url, target_url, f"plain DSN: measurements and index changes both as {user} "
                 "(no provisioned secrets name this database)", user, user)


# --- parameters -----------------------------------------------------------------------------------

def _available(statement: LogicalSql, mapping: Mapping) -> bool:
    return all(mapping.has_table(t) for t in statement.tables())


def choose_parameters(conn: psycopg.Connection, schema: str, mapping: Mapping) -> dict[str, dict[str, Any]]:
    """{profile: parameters}; a profile whose statements find nothing (or whose table is absent) is left out."""
    statements = named_statements("parameters.sql")
    profiles: dict[str, dict[str, Any]] = {}
    for profile, names in PROFILES.items():
        params: dict[str, Any] = {}
        for name in names:
            statement = statements[name]
            if not _available(statement, mapping):
                params = {}
                break
            cur = conn.execute(statement.render(schema, mapping), params)
            row = cur.fetchone()
            if row is None or any(v is None for v in row):
                params = {}
                break
            params.update(zip([d.name for d in cur.description], row))
        if params:
            profiles[profile] = params
    return profiles


# --- measurements ---------------------------------------------------------------------------------

def _measure_connection(dsn: str) -> psycopg.Connection:
    conn = connect(dsn, purpose="baseline measurement", autocommit=True)
    conn.execute("SET default_transaction_read_only = on")
    conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(STATEMENT_TIMEOUT_MS)))
    return conn


def measure_catalog(conn: psycopg.Connection, schema: str, mapping: Mapping, profiles: dict[str, dict[str, Any]],
                    runs: int, results: dict[str, CaseResult], phase: str) -> None:
    for case in CATALOG:
        statement = load_statement(f"{case.query}.sql")
        result = results.setdefault(case.name, CaseResult(case.name, case.query, case.profile, statement.description))
        if not _available(statement, mapping):
            result.skipped = "a table it reads is absent from the mapping"
            continue
        if case.profile not in profiles:
            result.skipped = f"no data for the {case.profile} parameters"
            continue
        log.info("baselines: %s (%s)", case.name, phase)
        setattr(result, phase, measure(conn, statement.render(schema, mapping), profiles[case.profile], runs))


# --- indexes --------------------------------------------------------------------------------------

def applicable_indexes(mapping: Mapping) -> list[RecommendedIndex]:
    return [i for i in RECOMMENDED_INDEXES if mapping.has_table(i.table)]


def _index_exists(conn: psycopg.Connection, schema: str, name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s "
        "AND c.relkind = 'i'", (schema, name)
    ).fetchone()
    return row is not None


def drop_recommended(conn: psycopg.Connection, schema: str, mapping: Mapping) -> list[str]:
    """Drop recommended indexes left by an earlier run; returns the names dropped."""
    dropped = []
    with conn.transaction():
        for index in applicable_indexes(mapping):
            name = index.physical_name(mapping)
            if _index_exists(conn, schema, name):
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(schema, name)))
                dropped.append(name)
    return dropped


def create_recommended(conn: psycopg.Connection, schema: str, mapping: Mapping) -> list[IndexResult]:
    out = []
    with conn.transaction():
        for index in applicable_indexes(mapping):
            name = index.physical_name(mapping)
            started = time.perf_counter()
            conn.execute(index.create(schema, mapping))
            build_ms = (time.perf_counter() - started) * 1000
            size = conn.execute("SELECT pg_relation_size(%s::regclass)",
                                (sql.Identifier(schema, name).as_string(conn),)).fetchone()[0]
            out.append(IndexResult(
                name=name, table=mapping.table_name(index.table),
                definition=index.create(schema, mapping).as_string(conn), supersedes=index.superseded_name(mapping),
                serves=list(index.serves), why=index.why, size_bytes=int(size), build_ms=round(build_ms, 1),
            ))
    return out


# --- write amplification --------------------------------------------------------------------------

_WRITE_TABLES = (("messages", "insert_messages"), ("conversation_participants", "insert_participants"),
                 ("message_reads", "insert_reads"))


_EXPLAIN_WRITE = sql.SQL("EXPLAIN (ANALYZE, WAL, TIMING OFF, FORMAT JSON) ")


def _timed_insert(conn: psycopg.Connection, statement: sql.Composable, params: dict[str, Any]) -> WriteSample:
    document = conn.execute(_EXPLAIN_WRITE + statement, params).fetchone()[0]
    explain = document[0] if isinstance(document, list) else document
    top = explain["Plan"]
    return WriteSample(ms=float(explain["Execution Time"]), wal_records=int(top.get("WAL Records", 0)),
                       wal_fpi=int(top.get("WAL FPI", 0)), wal_bytes=int(top.get("WAL Bytes", 0)))


def _write_batch_once(conn: psycopg.Connection, schema: str, mapping: Mapping, rows: int,
                      drop_first: list[sql.Composed]) -> dict[str, WriteSample]:
    """One rolled-back transaction: drop `drop_first` (transactional), stage, then time each insert."""
    statements = named_statements("write_batch.sql")
    params = {"rows": rows, "conversations": max(1, rows // PARTICIPANTS_PER_NEW_CONVERSATION),
              "members": PARTICIPANTS_PER_NEW_CONVERSATION}
    samples: dict[str, WriteSample] = {}
    try:
        with conn.transaction(force_rollback=True):
            for statement in drop_first:
                conn.execute(statement)
            for name in ("stage_messages", "stage_conversations", "insert_conversations", "stage_participants"):
                conn.execute(statements[name].render(schema, mapping), params)
            if mapping.has_table("message_reads"):
                conn.execute(statements["stage_reads"].render(schema, mapping), params)
            for table, name in _WRITE_TABLES:
                if mapping.has_table(table):
                    samples[table] = _timed_insert(conn, statements[name].render(schema, mapping), params)
    except psycopg.Error as exc:
        raise SynthError(f"write-amplification batch failed on schema {schema}: {str(exc).strip().splitlines()[0]}") from None
    return samples


def _drops(schema: str, names: list[str]) -> list[sql.Composed]:
    return [sql.SQL("DROP INDEX {}").format(sql.Identifier(schema, name)) for name in names]


def measure_write_costs(conn: psycopg.Connection, schema: str, mapping: Mapping, rows: int, repeats: int) -> list[WriteCost]:
    """Batch-insert cost per table with the base indexes, with the recommended ones added, and
    with them replacing the base indexes they supersede.

    Runs while the recommended indexes exist: the base scenario drops them inside its rolled-back
    transaction, the replacing scenario drops the superseded ones. The scenarios alternate
    (after one warm-up batch) so that drift on a busy machine hits all three alike. Rolled-back
    rows leave dead tuples and index entries behind, so the caller vacuums afterwards.
    """
    indexes = applicable_indexes(mapping)
    scenarios = {
        "base": _drops(schema, [i.physical_name(mapping) for i in indexes]),
        "with": [],
        "replacing": _drops(schema, [i.superseded_name(mapping) for i in indexes
                                     if _index_exists(conn, schema, i.superseded_name(mapping))]),
    }
    _write_batch_once(conn, schema, mapping, rows, [])  # warm-up: caches, catalog, temp buffers
    samples: dict[str, list[dict[str, WriteSample]]] = {k: [] for k in scenarios}
    for _ in range(repeats):
        for scenario, drops in scenarios.items():
            samples[scenario].append(_write_batch_once(conn, schema, mapping, rows, drops))

    def median(scenario: str, table: str) -> WriteSample:
        runs = [sample[table] for sample in samples[scenario]]
        return WriteSample(ms=round(statistics.median(r.ms for r in runs), 3),
                           wal_records=int(statistics.median(r.wal_records for r in runs)),
                           wal_fpi=int(statistics.median(r.wal_fpi for r in runs)),
                           wal_bytes=int(statistics.median(r.wal_bytes for r in runs)))

    costs = []
    for table in samples["base"][0]:
        table_rows = rows if table != "conversation_participants" else (
            max(1, rows // PARTICIPANTS_PER_NEW_CONVERSATION) * PARTICIPANTS_PER_NEW_CONVERSATION)
        costs.append(WriteCost(table=mapping.table_name(table), rows=table_rows, base=median("base", table),
                               with_indexes=median("with", table), replacing=median("replacing", table)))
    return costs


def vacuum_written_tables(conn: psycopg.Connection, schema: str, mapping: Mapping) -> None:
    """Remove the dead rows the rolled-back batches left, so the next run measures a clean table."""
    for table in ("conversations", "messages", "conversation_participants", "message_reads"):
        if mapping.has_table(table):
            conn.execute(sql.SQL("VACUUM {}").format(mapping.table(schema, table)))


# --- storage and regressions ----------------------------------------------------------------------

def default_out_dir(schema: str) -> Path:
    return state_dir() / "baselines" / schema


def previous_run(out_dir: Path, data_rows: dict[str, int]) -> dict[str, Any] | None:
    """The latest earlier run on the same data (equal rows per table): plans and times of a schema
    reloaded at another size are not comparable, so they are never flagged as regressions."""
    runs = sorted(out_dir.glob("run_*.json"))
    for path in reversed(runs):
        try:
            earlier = json.loads(path.read_bytes())
        except (OSError, ValueError):
            log.warning("baselines: ignoring unreadable earlier run %s", path)
            continue
        if earlier.get("data_rows") == data_rows:
            return earlier
    return None


def find_regressions(previous: dict[str, Any], cases: list[CaseResult], threshold: float) -> list[Regression]:
    earlier = {c["name"]: c for c in previous.get("cases", [])}
    found = []
    for case in cases:
        old = earlier.get(case.name)
        if not old:
            continue
        for phase in ("before", "after"):
            now, then = getattr(case, phase), old.get(phase)
            if now is None or not then:
                continue
            if now.shape != then["shape"]:
                found.append(Regression(case.name, phase, "plan", then["shape"], now.shape))
            old_ms = float(then["median_ms"])
            if now.median_ms > old_ms * (1 + threshold) and now.median_ms - old_ms > REGRESSION_FLOOR_MS:
                found.append(Regression(case.name, phase, "time", f"{old_ms:.3f} ms", f"{now.median_ms:.3f} ms"))
    return found


def _new_run_id() -> tuple[str, str]:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ") + "_" + uuid.uuid4().hex[:6], now.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the run --------------------------------------------------------------------------------------

def _check_schema(conn: psycopg.Connection, schema: str, mapping: Mapping) -> None:
    table = mapping.table_name("messages")
    row = conn.execute("SELECT to_regclass(%s)", (mapping.table(schema, "messages").as_string(conn),)).fetchone()
    if row[0] is None:
        raise SynthError(f"schema {schema!r} has no table {table!r} readable here; pass the loaded schema (--schema) "
                         "and its mapping (--mapping)")


def visibility_notes(conn: psycopg.Connection, schema: str, mapping: Mapping) -> list[str]:
    """A note per table whose visibility map is mostly unset: its index-only scans fetch the heap."""
    notes = []
    for table in ("messages", "conversation_participants", "message_reads"):
        if not mapping.has_table(table):
            continue
        row = conn.execute("SELECT relpages, relallvisible FROM pg_class WHERE oid = to_regclass(%s)",
                           (mapping.table(schema, table).as_string(conn),)).fetchone()
        if row and row[0] > 0 and row[1] < 0.9 * row[0]:
            notes.append(f"{mapping.table_name(table)}: {row[1] / row[0]:.0%} of pages all-visible (no VACUUM since the "
                         "load?): index-only scans fetch heap pages, plans and times differ from a vacuumed table")
    return notes


def run_baselines(target_url: str, schema: str, *, mapping_name: str = "reference", out_dir: str | Path | None = None,
                  options: BaselineOptions | None = None, env: str | None = None,
                  source_url: str | None = None, source_urls: Iterable[str] = ()) -> BaselineResult:
    from synth_pipeline.loader.safety import check_managed_target, refuse_source, validate_schema_name

    options = options or BaselineOptions()
    mapping = load_mapping(mapping_name)
    validate_schema_name(schema)
    refuse_source(target_url, source_urls, source_url=source_url)
    roles = resolve_roles(target_url, env)
    out = _prepared_out_dir(Path(out_dir) if out_dir else default_out_dir(schema))
    run_id, created_at = _new_run_id()
    notes: list[str] = []
    results: dict[str, CaseResult] = {}
    with connect(roles.owner_dsn, purpose="baseline owner", autocommit=True) as owner, \
            _measure_connection(roles.measure_dsn) as measure_conn:
        check_managed_target(owner, schema)  # the loader's target rule, and a schema it created
        _check_schema(measure_conn, schema, mapping)
        server_version = measure_conn.execute("SHOW server_version").fetchone()[0]
        notes += visibility_notes(measure_conn, schema, mapping)
        dropped = drop_recommended(owner, schema, mapping)
        if dropped:
            notes.append(f"dropped recommended indexes left by an earlier run before measuring: {', '.join(dropped)}")
        data_rows = table_counts(measure_conn, schema, mapping)
        profiles = choose_parameters(measure_conn, schema, mapping)
        measure_catalog(measure_conn, schema, mapping, profiles, options.runs, results, "before")
        indexes = create_recommended(owner, schema, mapping)
        try:
            measure_catalog(measure_conn, schema, mapping, profiles, options.runs, results, "after")
            write_costs = measure_write_costs(owner, schema, mapping, options.write_rows, options.write_repeats)
        finally:
            if not options.keep_indexes:
                drop_recommended(owner, schema, mapping)
            vacuum_written_tables(owner, schema, mapping)
        if options.keep_indexes:
            notes.append("the recommended indexes were kept (--keep-indexes); the next run drops them before measuring")
    result = BaselineResult(
        run_id=run_id, created_at=created_at, schema=schema, mapping=mapping.name, server_version=server_version,
        roles=roles.description, options=options,
        parameters={p: {k: str(v) for k, v in values.items()} for p, values in profiles.items()},
        cases=[results[c.name] for c in CATALOG], indexes=indexes, write_costs=write_costs, notes=notes,
        data_rows=data_rows,
    )
    earlier = previous_run(out, data_rows)
    if earlier:
        result.previous_run_id = earlier.get("run_id")
        result.regressions = find_regressions(earlier, result.cases, options.regression_threshold)
    _store(result, out)
    return result


def _prepared_out_dir(out: Path) -> Path:
    """Create the output directory before anything is measured: a bad --out must not waste a run."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SynthError(f"--out {out}: cannot create the results directory ({exc.strerror}); choose a writable directory") from None
    return out


def _store(result: BaselineResult, out: Path) -> None:
    from synth_pipeline.reports.baseline_report import markdown_report

    result.json_path = out / f"run_{result.run_id}.json"
    result.markdown_path = out / f"run_{result.run_id}.md"
    atomic_write_json(result.json_path, result.to_dict())
    atomic_write_bytes(result.markdown_path, markdown_report(result).encode())
