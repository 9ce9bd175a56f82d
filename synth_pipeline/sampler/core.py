"""`sample_pack`: a metrics pack from a read-only production database; `write_pack`: the files.

Flow: connect read-only -> check the mapped tables and columns exist (required ones missing is
an input error; optional ones missing are reported absent) -> find the window end (latest message,
rounded up to a second) -> run the aggregate statements (one pass per access path) -> assemble
the pack in Python from the frequency tables -> validate against the JSON Schema -> write the pack
and its mapping manifest atomically.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import numpy as np

from synth_pipeline import __version__
from synth_pipeline.contracts.binning import CONTINUOUS_FLOOR
from synth_pipeline.contracts.files import write_pack_pair
from synth_pipeline.contracts.metrics_pack import MetricsPack, PackPrivacy, Parts, Window
from synth_pipeline.contracts.pack_manifest import ManifestPrivacy, MappingUsed, PackManifest, Tokenization
from synth_pipeline.errors import SynthError
from synth_pipeline.fsutil import canonical_json
from synth_pipeline.paths import METRICS_PACK_SCHEMA, PACK_MANIFEST_SCHEMA
from synth_pipeline.sampler.assemble import HEAVY_ROOM_THRESHOLD, FineRows, PackBuilder
from synth_pipeline.sampler.executor import (
    AggregateExecutor,
    DependentTask,
    SessionSettings,
    StatementRecord,
    Task,
    connect_read_only,
)
from synth_pipeline.sampler.fine import MICRO_BINS_PER_E
from synth_pipeline.sampler.noise import PrivacyLedger, releases_for
from synth_pipeline.sampler.statements import Statements
from synth_pipeline.sampler.tokens import Salt, salt_from_env
from synth_pipeline.schema.logical import CONVERSATION_KINDS, DEVICES, ATTACHMENT_KINDS, LOGICAL_TABLES
from synth_pipeline.schema.mapping import Mapping, TableMapping, load_mapping

log = logging.getLogger(__name__)

METRIC_LABELS = frozenset({
    "message_length", "messages_per_user", "primary_device", "conversations", "messages_per_conversation",
    "participants_per_conversation", "participants_per_group", "conversation_kind", "hour_of_week",
    "inter_arrival", "inter_arrival_stats", "heavy_room", "reads_per_message", "read_latency",
    "read_latency_stats", "receipt_sample_messages", "attachments_per_message", "attachment_size", "attachment_size_stats",
})
# The only text a statement may return: metric names, enum labels (and 16-hex tokens).
ALLOWED_LABELS = METRIC_LABELS | set(DEVICES) | set(CONVERSATION_KINDS) | set(ATTACHMENT_KINDS)
MAX_JOBS = 16
# Receipts are measured on all messages of windows up to this size; above it, on the messages
# whose id is a multiple of k = ceil(window messages / this): a systematic sample whose receipts
# are found through the receipts' primary key instead of a join of the whole table (docs/sampler.md).
RECEIPT_SAMPLE_MESSAGES = 100_000
SESSION_STATEMENTS = frozenset({"export_snapshot", "import_snapshot"})
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")


@dataclass(frozen=True)
class SampleResult:
    pack: MetricsPack
    manifest: PackManifest
    statements: tuple[StatementRecord, ...]

    def __iter__(self):  # `pack, manifest = sample_pack(...)`
        return iter((self.pack, self.manifest))


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_options(schema: str, window_days: int, min_cell_size: int, epsilon: float | None, contribution_bound: int) -> None:
    if not _SCHEMA_NAME.match(schema):
        raise SynthError(f"--schema {schema!r} is not a plain PostgreSQL schema name")
    if not 1 <= window_days <= 3660:
        raise SynthError(f"--window-days must be between 1 and 3660 (got {window_days})")
    if min_cell_size < 1:
        raise SynthError(f"--min-cell-size must be at least 1 (got {min_cell_size})")
    if epsilon is not None and not (0 < epsilon < float("inf")):
        raise SynthError(f"--epsilon must be a positive number (got {epsilon})")
    if contribution_bound < 1:
        raise SynthError(f"--contribution-bound must be at least 1 (got {contribution_bound})")


def _present_mapping(executor: AggregateExecutor, mapping: Mapping, schema: str) -> Mapping:
    """The mapping with optional parts the database lacks set to None; required ones missing fail."""
    wanted: list[tuple[str, str | None, str, str | None]] = []  # (physical table, physical col, logical table, logical col)
    for lt in LOGICAL_TABLES:
        tm = mapping.tables[lt.name]
        if tm.physical is None:
            continue
        wanted.append((tm.physical, None, lt.name, None))
        wanted.extend((tm.physical, phys, lt.name, col) for col, phys in tm.columns.items() if phys is not None)
    statement = Statements(mapping, schema, bounded=False).catalog()
    (present, readable), = executor.run("catalog", statement, {
        "schema": schema, "tables": [w[0] for w in wanted], "columns": [w[1] for w in wanted],
    })
    tables = dict(mapping.tables)
    for (physical, physical_col, logical, col), exists, can_read in zip(wanted, present, readable):
        if tables[logical].physical is None:  # an absent optional table: its columns do not matter
            continue
        optional = _logical(logical).optional if col is None else _logical(logical).column(col).optional
        where = f"{schema}.{physical}" + (f".{physical_col}" if physical_col else "")
        if exists and col is None and not can_read:
            raise SynthError(f"no SELECT privilege on {where} (mapping {mapping.name!r}); grant SELECT to the sampler's role")
        if exists:
            continue
        if not optional:
            kind = "table" if col is None else "column"
            raise SynthError(f"{kind} {where} of mapping {mapping.name!r} (logical {logical}{'.' + col if col else ''}) "
                             "does not exist in the source; fix --mapping or --schema")
        log.warning("optional %s %s is absent from the source; reported as absent", "table" if col is None else "column", where)
        tm = tables[logical]
        if col is None:
            tables[logical] = TableMapping(logical, None, {c: None for c in tm.columns})
        else:
            tables[logical] = TableMapping(logical, tm.physical, {**tm.columns, col: None})
    return dataclasses.replace(mapping, tables=tables)


def _logical(name: str):
    return next(t for t in LOGICAL_TABLES if t.name == name)


def _parts(mapping: Mapping) -> Parts:
    return Parts(
        attachments=mapping.has_table("attachments"),
        reads=mapping.has_table("message_reads"),
        device=mapping.has_column("messages", "device"),
        primary_device=mapping.has_column("users", "primary_device"),
    )


def _window(executor: AggregateExecutor, statements: Statements, window_days: int) -> Window:
    (end_epoch,), = executor.run("window_end", statements.window_end())
    if end_epoch is None:
        table = statements.mapping.table_name("messages")
        raise SynthError(f"empty window: {statements.schema}.{table} has no messages; sample a database with data")
    end = datetime.fromtimestamp(float(end_epoch), tz=timezone.utc)
    return Window(days=window_days, start=_iso(end - timedelta(days=window_days)), end=_iso(end))


def receipt_modulus(window_messages: int) -> int:
    """k of the receipt sample: receipts of the window's messages whose id is a multiple of k."""
    return max(1, math.ceil(window_messages / RECEIPT_SAMPLE_MESSAGES))


def _reads_task(statements: Statements, params: dict) -> DependentTask:
    """Receipts, once the conversations pass has counted the window's messages (which sizes the sample)."""

    def build(conversation_rows: list[tuple]) -> Task:
        window_messages = sum(int(key) * int(n) for metric, _, key, n, *_ in conversation_rows
                              if metric == "messages_per_conversation")
        modulus = receipt_modulus(window_messages)
        reads = dataclasses.replace(statements, receipt_sampled=modulus > 1).reads()
        return Task("reads", reads, {**params, "receipt_modulus": modulus})

    return DependentTask("reads", after="conversations", build=build)


def _aggregate_rows(executor: AggregateExecutor, statements: Statements, parts: Parts, params: dict) -> list[tuple]:
    """Run the aggregate statements concurrently over the sessions, in an order that balances them.

    Each statement is one pass over one access path (docs/sampler.md, "Speed"); scans and joins
    inside a statement are left to PostgreSQL's own parallel query. With two sessions the
    conversations pass and then the receipts run on one, the messages pass and the senders on
    the other.
    """
    tasks: list[Task | DependentTask] = [Task(name, getattr(statements, name)(), params)
                                         for name in ("conversations", "messages")]
    tasks += [_reads_task(statements, params)] if parts.reads else []
    tasks += [Task(name, getattr(statements, name)(), params) for name in ("message_senders", "population")]
    return [row for rows in executor.run_all(tasks) for row in rows]


def _noise_rng(salt: Salt, rows: list[tuple]) -> np.random.Generator:
    digest = hashlib.sha256(json.dumps(sorted(map(list, rows), key=repr), default=str).encode()).digest()
    seed = int.from_bytes(salt.derive(b"synth-pipeline/noise\x00" + digest), "big")
    return np.random.default_rng(seed)


def sample_pack(dsn: str, *, mapping: str | Mapping = "reference", schema: str = "public", window_days: int = 30,
                min_cell_size: int = 10, epsilon: float | None = None, contribution_bound: int = 10,
                salt: Salt | None = None, session: SessionSettings = SessionSettings()) -> SampleResult:
    """Sample a metrics pack and its mapping manifest from the source database at `dsn`."""
    _check_options(schema, window_days, min_cell_size, epsilon, contribution_bound)
    if not 1 <= session.jobs <= MAX_JOBS:
        raise SynthError(f"--jobs must be between 1 and {MAX_JOBS} (got {session.jobs})")
    salt = salt or salt_from_env()
    mapping = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    with connect_read_only(dsn, session) as conn:
        executor = AggregateExecutor(conn, allowed_labels=frozenset(ALLOWED_LABELS))
        present = _present_mapping(executor, mapping, schema)
        parts = _parts(present)
        statements = Statements(present, schema, bounded=epsilon is not None)
        window = _window(executor, statements, window_days)
        inner, outer = salt.pad_keys()
        params = {
            "window_start": datetime.strptime(window.start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc),
            "window_end": datetime.strptime(window.end, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc),
            "seconds_floor": CONTINUOUS_FLOOR["seconds"],
            "bytes_floor": CONTINUOUS_FLOOR["bytes"],
            "micro_bins_per_e": MICRO_BINS_PER_E,
            "heavy_room_threshold": HEAVY_ROOM_THRESHOLD,
            "hmac_inner_key": inner,
            "hmac_outer_key": outer,
        }
        if epsilon is not None:
            params["contribution_bound"] = contribution_bound
        try:
            executor.share_snapshot(dsn, session)
            rows = _aggregate_rows(executor, statements, parts, params)
        finally:
            executor.close()
        conn.rollback()  # nothing to commit: end the read-only transaction explicitly
    ledger = PrivacyLedger(
        min_cell_size=min_cell_size,
        epsilon=epsilon,
        contribution_bound=contribution_bound if epsilon is not None else None,
        releases=releases_for(parts.model_dump()) if epsilon is not None else [],
        rng=_noise_rng(salt, rows) if epsilon is not None else None,
    )
    builder = PackBuilder(FineRows(rows), ledger, parts.model_dump())
    metrics, totals = builder.metrics_and_totals()
    if totals.messages == 0:
        raise SynthError(f"empty window: no messages in the {window_days} days up to {window.end}; widen --window-days")
    pack_privacy = PackPrivacy(
        min_cell_size=min_cell_size,
        suppressed_cells=ledger.suppressed_cells,
        merged_cells=ledger.merged_cells,
        epsilon=epsilon,
        noise_mechanism="geometric" if epsilon is not None else "none",
        contribution_bound=ledger.contribution_bound,
    )
    pack = MetricsPack(window=window, privacy=pack_privacy, parts=parts, totals=totals, metrics=metrics)
    manifest = PackManifest(
        pack_sha256=hashlib.sha256(canonical_json(pack.model_dump(mode="json"))).hexdigest(),
        created_at=_iso(datetime.now(timezone.utc)),
        tool_version=__version__,
        tokenization=Tokenization(fields_tokenized=["conversations.id"], salt_fingerprint=salt.fingerprint),
        mapping=MappingUsed(name=mapping.name, sha256=mapping.sha256),
        window=window,
        privacy=ManifestPrivacy(**pack_privacy.model_dump(), epsilon_spent=round(ledger.epsilon_spent, 12)),
        statements_executed=sum(1 for record in executor.log if record.name not in SESSION_STATEMENTS),
    )
    return SampleResult(pack=pack, manifest=manifest, statements=tuple(executor.log))


def _validated(document: dict, schema_path: Path, what: str) -> bytes:
    try:
        jsonschema.validate(document, json.loads(schema_path.read_text()))
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise SynthError(f"the {what} does not match {schema_path.name} at {where}: {exc.validator} failed; nothing written") from None
    return canonical_json(document)


def write_pack(result: SampleResult, out: str | Path) -> tuple[Path, Path]:
    """Validate the pack and manifest against their JSON Schemas, then write both atomically."""
    out = Path(out)
    pack_bytes = _validated(result.pack.model_dump(mode="json"), METRICS_PACK_SCHEMA, "metrics pack")
    manifest_bytes = _validated(result.manifest.model_dump(mode="json"), PACK_MANIFEST_SCHEMA, "mapping manifest")
    if hashlib.sha256(pack_bytes).hexdigest() != result.manifest.pack_sha256:
        raise SynthError("the manifest's pack_sha256 does not match the pack; nothing written")
    try:
        manifest_path = write_pack_pair(out, pack_bytes, manifest_bytes)
    except OSError as exc:
        raise SynthError(f"cannot write {out}: {exc.strerror}; choose a writable --out") from None
    return out, manifest_path
