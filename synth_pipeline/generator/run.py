"""Writing partitions to Parquet, the per-partition record, the manifest, and the streaming driver.

Layout (`synth_pipeline.contracts.shard_manifest`): `DIR/users/users.parquet`,
`DIR/shard-NNNNN/<table>.parquet`, and `DIR/manifest.json`, written last and atomically.
Each partition directory also gets `_partition.json` (a `PartitionRecord`) after its Parquet
files: it marks the partition complete and carries its files' row counts and sha256 and the
generation it belongs to, so the manifest can be assembled from the directory alone, whichever
machines built the partitions, without re-reading the data. Building a partition deletes a stale
`manifest.json`: a directory being (re)built has no manifest until every partition is complete.

DIR is a local directory or a shard-store URI (`s3://bucket/prefix`, `infra/shard_store.py`): the
same bytes either way; locally each file is written to a temporary file, fsynced and renamed, on
an object store it is one PUT of the complete object.

`generate` streams: the main thread builds partition k+1 while a small thread pool validates and
writes partition k, and each table goes to the pool as soon as it is built (Parquet encoding,
zstd, sha256 and fsync all release the GIL); at most two partitions are in memory, whatever the band.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from synth_pipeline.contracts.common import StrictModel
from synth_pipeline.contracts.distribution_spec import DistributionSpec
from synth_pipeline.contracts.shard_manifest import Partition, ShardFile, ShardManifest, Sizes
from synth_pipeline.errors import SynthError
from synth_pipeline.generator.plan import GENERATOR_VERSION, GenerationPlan, plan_generation
from synth_pipeline.generator.tables import build_partition, iter_partition
from synth_pipeline.generator.timeline import iso
from synth_pipeline.generator.validate import validate_partition
from synth_pipeline.infra.shard_store import Location, ShardStore, open_store, reason
from synth_pipeline.schema.arrow import TIMESTAMP
from synth_pipeline.schema.logical import TABLE_ORDER

MANIFEST_NAME = "manifest.json"
RECORD_NAME = "_partition.json"
MANIFEST_PSEUDO_PARTITION = "manifest"
# Dictionary encoding only where values repeat; statistics everywhere but on message text.
_DICTIONARY_COLUMNS = ["first_name", "primary_device", "kind", "device", "mime_type"]
_NO_STATISTICS = {"content"}


class PartitionRecord(StrictModel):
    """`DIR/<partition>/_partition.json`: the partition is complete, and what it holds."""

    kind: Literal["synth-pipeline/partition-record"] = "synth-pipeline/partition-record"
    generation: dict
    partition: Partition


@dataclass
class GenerationResult:
    out_dir: Path | str  # a Path for a local directory, else the shard-store URI
    plan: GenerationPlan
    files: dict[str, list[ShardFile]]
    manifest_path: Path | str | None
    seconds: float

    @property
    def rows(self) -> int:
        return sum(f.rows for files in self.files.values() for f in files)


def generation_id(plan: GenerationPlan) -> str:
    """A directory name unique to the generation: spec, seed, sizes and shard count."""
    sizes = plan.sizes
    band = plan.band if plan.band != "custom" else f"custom-{sizes.users}u-{sizes.conversations}c-{sizes.messages}m"
    return f"{plan.spec_sha256[:12]}-seed{plan.seed}-{band}-k{plan.n_shards}"


# -- one partition ---------------------------------------------------------------------------------------
def _encode(table_name: str, table: pa.Table) -> pa.Buffer:
    # Integers and timestamps as DELTA_BINARY_PACKED: ids are sorted runs, so this is 2-3x faster
    # to write than PLAIN + zstd and smaller, and every Parquet reader supports it.
    delta = {f.name: "DELTA_BINARY_PACKED" for f in table.schema if f.type in (pa.int64(), TIMESTAMP)}
    sink = pa.BufferOutputStream()
    pq.write_table(
        table, sink, compression="zstd", column_encoding=delta,
        use_dictionary=[c for c in table.column_names if c in _DICTIONARY_COLUMNS],
        write_statistics=[c for c in table.column_names if c not in _NO_STATISTICS],
    )
    return sink.getvalue()


def write_table(out_dir: Location | ShardStore, partition: str, table_name: str, table: pa.Table) -> ShardFile:
    """Encode to Parquet in memory, hash, write atomically (local: temp file, fsync, rename; object store: one PUT)."""
    data = _encode(table_name, table)
    relative = f"{partition}/{table_name}.parquet"
    open_store(out_dir).write_bytes(relative, data)
    return ShardFile(table=table_name, path=relative, rows=table.num_rows, bytes=data.size, sha256=hashlib.sha256(data).hexdigest())


def _forget_manifest(store: ShardStore) -> None:
    store.delete(MANIFEST_NAME)


def _record(plan: GenerationPlan, store: ShardStore, name: str, files: list[ShardFile]) -> None:
    files = sorted(files, key=lambda f: TABLE_ORDER.index(f.table))
    record = PartitionRecord(generation=plan.generation_key(), partition=Partition(name=name, files=files, id_ranges=plan.id_ranges(name)))
    store.write_json(f"{name}/{RECORD_NAME}", record.model_dump(mode="json"))


def write_partition(plan: GenerationPlan, name: str, tables: dict[str, pa.Table], out_dir: Location | ShardStore) -> list[ShardFile]:
    out = open_store(out_dir)
    try:
        _forget_manifest(out)
        out.delete(f"{name}/{RECORD_NAME}")
        files = [write_table(out, name, t, tables[t]) for t in TABLE_ORDER if t in tables]
        _record(plan, out, name, files)
    except OSError as exc:  # disk full, permissions, S3 AccessDenied: one line, the location without credentials
        raise SynthError(f"{out.display()}: cannot write partition {name} ({exc.strerror or reason(exc)}); "
                         "free space, fix access or choose another shard store") from None
    return files


def generate_partition(plan: GenerationPlan, name: str, out_dir: Location | ShardStore, *, validate: bool = True) -> list[ShardFile]:
    """Build, validate and write one partition (`users` or `shard-NNNNN`) into `out_dir`."""
    if name not in plan.names:
        raise SynthError(f"unknown partition {name!r}; this plan has users and shard-00000 .. shard-{plan.n_shards - 1:05d}")
    tables = build_partition(plan, name)
    if validate:
        validate_partition(plan, name, tables)
    return write_partition(plan, name, tables, out_dir)


# -- the manifest -------------------------------------------------------------------------------------------
def read_record(out_dir: Location | ShardStore, name: str) -> PartitionRecord | None:
    store = open_store(out_dir)
    relative = f"{name}/{RECORD_NAME}"
    try:
        return PartitionRecord.model_validate(json.loads(store.read_bytes(relative)))
    except FileNotFoundError:
        return None
    except (ValueError, ValidationError):
        raise SynthError(f"{store.display(relative)}: unreadable partition record; regenerate partition {name} (synth-pipeline generate --only {name})") from None


def write_manifest(plan: GenerationPlan, out_dir: Location | ShardStore) -> Path | str:
    """Assemble `DIR/manifest.json` from the partition records; refuse if any is missing or stale.
    Returns the manifest's location (a Path for a local directory, else its URI)."""
    out = open_store(out_dir)
    try:
        return _write_manifest(plan, out)
    except OSError as exc:
        raise SynthError(f"{out.display()}: cannot write {MANIFEST_NAME} ({exc.strerror or reason(exc)}); "
                         "fix access to the shard store and retry") from None


def _write_manifest(plan: GenerationPlan, out: ShardStore) -> Path | str:
    partitions: list[Partition] = []
    missing, stale = [], []
    listed = out.list_files()  # one listing for existence and sizes (on an object store: not a request per file)
    for name in plan.names:
        record = read_record(out, name) if f"{name}/{RECORD_NAME}" in listed else None
        if record is None:
            missing.append(name)
        elif record.generation != plan.generation_key():
            stale.append(name)
        else:
            for shard_file in record.partition.files:
                if listed.get(shard_file.path) != shard_file.bytes:
                    stale.append(name)
                    break
            partitions.append(record.partition)
    if missing or stale:
        problems = ([f"missing {_names(missing)}"] if missing else []) + ([f"from another generation or changed: {_names(stale)}"] if stale else [])
        raise SynthError(f"{out.display()}: cannot write {MANIFEST_NAME}: partitions {'; '.join(problems)}; generate them (--only NAME ...) with the same spec, seed, sizes and --shards")
    table_rows: dict[str, int] = {}
    for partition in partitions:
        for shard_file in partition.files:
            table_rows[shard_file.table] = table_rows.get(shard_file.table, 0) + shard_file.rows
    manifest = ShardManifest(
        spec_sha256=plan.spec_sha256, seed=plan.seed, band=plan.band, sizes=plan.sizes, n_shards=plan.n_shards,
        window_start=iso(plan.window.start_us), window_end=iso(plan.window.end_us), generator_version=GENERATOR_VERSION,
        partitions=partitions, table_rows={t: table_rows[t] for t in TABLE_ORDER if t in table_rows},
        absent_tables=plan.absent_tables, null_columns=plan.null_columns,
    )
    out.write_json(MANIFEST_NAME, manifest.model_dump(mode="json"))
    return out.location(MANIFEST_NAME)


def _names(names: list[str]) -> str:
    return ", ".join(names) if len(names) <= 4 else f"{', '.join(names[:3])} and {len(names) - 3} more"


# -- the streaming driver -----------------------------------------------------------------------------------
ProgressFn = Callable[[str, dict[str, int], float], None]


def stderr_progress(name: str, rows: dict[str, int], seconds: float) -> None:
    total = sum(rows.values())
    messages = rows.get("messages", 0)
    what = f"{messages:,} messages, {total:,} rows" if messages else f"{total:,} rows"
    print(f"generate: {name}: {what} in {seconds:.2f} s ({total / max(seconds, 1e-9):,.0f} rows/s)", file=sys.stderr, flush=True)


@dataclass
class _InFlight:
    name: str
    started: float
    futures: dict[str, Future]


def _submit(pool: ThreadPoolExecutor, plan: GenerationPlan, name: str, out: ShardStore, validate: bool) -> dict[str, Future]:
    """Build the partition table by table, handing each to the pool as soon as it exists."""
    futures: dict[str, Future] = {}
    tables: dict[str, pa.Table] = {}
    for table_name, table in iter_partition(plan, name):
        tables[table_name] = table
        futures[table_name] = pool.submit(write_table, out, name, table_name, table)
    if validate:
        futures["__validate__"] = pool.submit(validate_partition, plan, name, tables)
    return futures


def _finish(plan: GenerationPlan, out: ShardStore, flight: _InFlight, progress: ProgressFn | None) -> list[ShardFile]:
    files = [f.result() for t, f in flight.futures.items() if t != "__validate__"]
    if "__validate__" in flight.futures:
        try:
            flight.futures["__validate__"].result()
        except BaseException:
            for shard_file in files:
                out.delete(shard_file.path)
            raise
    _record(plan, out, flight.name, files)
    if progress is not None:
        progress(flight.name, {f.table: f.rows for f in files}, time.perf_counter() - flight.started)
    return sorted(files, key=lambda f: TABLE_ORDER.index(f.table))


def generate_plan(plan: GenerationPlan, out_dir: Location | ShardStore, *, only: Iterable[str] | None = None,
                  progress: ProgressFn | None = stderr_progress, validate: bool = True, workers: int = 2) -> GenerationResult:
    """Build the partitions of `plan` (all, or `only` those; `manifest` = write the manifest),
    streaming; write the manifest when every partition was built here or `manifest` is asked for."""
    out = open_store(out_dir, "--out")
    started = time.perf_counter()
    wanted = list(only) if only is not None else [*plan.names, MANIFEST_PSEUDO_PARTITION]
    unknown = [n for n in wanted if n not in plan.names and n != MANIFEST_PSEUDO_PARTITION]
    if unknown:
        raise SynthError(f"--only {_names(unknown)}: unknown partition; use users, shard-00000 .. shard-{plan.n_shards - 1:05d} or manifest")
    names = [n for n in plan.names if n in wanted]
    try:
        out.ensure_root()
    except OSError as exc:
        raise SynthError(f"--out {out.display()}: cannot create the shard directory ({exc.strerror}); choose a writable directory") from None
    files: dict[str, list[ShardFile]] = {}
    try:
        if names:
            _forget_manifest(out)  # S3 DeleteObject denied: the one-line error below, not an internal error
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="shard-writer") as pool:
            flight: _InFlight | None = None
            for name in names:
                begun = time.perf_counter()
                out.delete(f"{name}/{RECORD_NAME}")
                futures = _submit(pool, plan, name, out, validate)
                if flight is not None:  # at most two partitions in memory: the one built, the one written
                    files[flight.name] = _finish(plan, out, flight, progress)
                flight = _InFlight(name, begun, futures)
            if flight is not None:
                files[flight.name] = _finish(plan, out, flight, progress)
        manifest_path = _write_manifest(plan, out) if MANIFEST_PSEUDO_PARTITION in wanted else None
    except OSError as exc:  # disk full, permissions, no bucket: the directory is left without manifest.json (incomplete)
        raise SynthError(f"--out {out.display()}: cannot write shards ({exc.strerror or reason(exc)}); "
                         "free space or choose another directory") from None
    return GenerationResult(out_dir=out.root, plan=plan, files=files, manifest_path=manifest_path, seconds=time.perf_counter() - started)


def generate(spec: DistributionSpec | str | Path, out_dir: Location, *, seed: int, band: str | Sizes = "dev",
             n_shards: int | None = None, only: Iterable[str] | None = None,
             progress: ProgressFn | None = stderr_progress, validate: bool = True) -> GenerationResult:
    """Plan, build every partition (or `only` some) and write the manifest: the whole stage."""
    plan = plan_generation(spec, band, seed, n_shards)
    return generate_plan(plan, out_dir, only=only, progress=progress, validate=validate)
