"""Reading a shard directory for loading: the manifest, checksums, and the Parquet schema.

The layout and manifest are the generator's contract (`contracts/shard_manifest.py`). Every file
loaded must have the manifest's size and sha256 and carry the Arrow schema of its table
(`schema/arrow.py`); anything else is a one-line SynthError naming the file and the fix.

Two checks: `verify_partitions`, before anything is written, and `read_verified`, in the
partition's COPY transaction. `read_verified` reads each file ONCE into memory and checks size,
sha256 and Parquet rows and schema on exactly the bytes COPY then decodes, so what is loaded is
what was verified (a mismatch rolls that partition back). Up front, a local directory gets the
full check (cheap: page cache, ~0.2 s for the dev band) so a corrupt file is refused before
anything is written; an object store gets existence and size from one listing (reading every
object twice would double the transfer). The directory is local or a shard-store URI
(`s3://bucket/prefix`, `infra/shard_store.py`).
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from synth_pipeline.contracts.shard_manifest import Partition, ShardFile, ShardManifest
from synth_pipeline.errors import SynthError
from synth_pipeline.infra.shard_store import Location, ShardStore, open_store, reason
from synth_pipeline.schema.arrow import ARROW_SCHEMAS
from synth_pipeline.schema.logical import TABLE_ORDER

MANIFEST_NAME = "manifest.json"
_REGENERATE = "regenerate the shards (synth-pipeline generate) or copy them again"


@dataclass(frozen=True)
class ShardSet:
    """A validated manifest and the directory it describes."""

    root: Path | str  # a Path for a local directory, else the shard-store URI
    manifest: ShardManifest
    manifest_sha256: str
    store: ShardStore

    def display(self, relative: str = "") -> str:
        """For messages and records: the location without credentials."""
        return self.store.display(relative)

    @property
    def partitions(self) -> list[Partition]:
        """Users first (other tables reference them), then shards in name order."""
        return sorted(self.manifest.partitions, key=lambda p: (p.name != "users", p.name))


def read_shard_set(directory: Location | ShardStore) -> ShardSet:
    store = open_store(directory, "shard directory")
    path = store.display(MANIFEST_NAME)
    try:
        raw = store.read_bytes(MANIFEST_NAME)
    except OSError as exc:
        why = exc.strerror or reason(exc)
        raise SynthError(f"cannot read shard manifest {path}: {why}; pass --shards DIR of a generated shard set") from None
    try:
        manifest = ShardManifest.model_validate(json.loads(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) + ": " + first["msg"]
        raise SynthError(f"{path}: not a valid shard manifest: {where}; {_REGENERATE}") from None
    except ValueError as exc:
        where = f" (line {exc.lineno} column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise SynthError(f"{path}: not a valid shard manifest: not JSON{where}; {_REGENERATE}") from None
    names = [p.name for p in manifest.partitions]
    if len(set(names)) != len(names):
        raise SynthError(f"{path}: partitions: duplicate partition name; {_REGENERATE}")
    for partition in manifest.partitions:
        for shard_file in partition.files:
            relative = Path(shard_file.path)
            if relative.is_absolute() or ".." in relative.parts:
                raise SynthError(f"{path}: partition {partition.name}: file path {shard_file.path!r} leaves the shard directory")
    return ShardSet(root=store.root, manifest=manifest, manifest_sha256=hashlib.sha256(raw).hexdigest(), store=store)


def _unreadable(path: str, exc: OSError) -> SynthError:
    """FileNotFoundError: missing; anything else (S3 AccessDenied, throttling, network): the reason."""
    if isinstance(exc, FileNotFoundError):
        return SynthError(f"shard file {path} is missing; {_REGENERATE}")
    return SynthError(f"cannot read shard file {path}: {reason(exc)}; check access to the shard store and retry")


def _check_size(path: str, size: int | None, shard_file: ShardFile) -> None:
    if size is None:
        raise SynthError(f"shard file {path} is missing; {_REGENERATE}")
    if size != shard_file.bytes:
        raise SynthError(f"shard file {path} has {size} bytes, the manifest says {shard_file.bytes}: corrupt or truncated; {_REGENERATE}")


def _check_sha256(path: str, digest: str, shard_file: ShardFile) -> None:
    if digest != shard_file.sha256:
        raise SynthError(f"shard file {path} does not match its sha256 in {MANIFEST_NAME}: corrupt; {_REGENERATE}")


def _check_file(shard_set: ShardSet, shard_file: ShardFile) -> None:
    """The up-front check of a local file: size, sha256 and Parquet schema."""
    store = shard_set.store
    path = store.display(shard_file.path)
    try:
        _check_size(path, store.size(shard_file.path), shard_file)
        _check_sha256(path, store.sha256(shard_file.path), shard_file)
        with store.parquet_source(shard_file.path) as source:
            _check_parquet(path, source, shard_file)
    except OSError as exc:
        raise _unreadable(path, exc) from None


def read_verified(shard_set: ShardSet, shard_file: ShardFile) -> bytes | pa.Buffer:
    """The file's bytes, read once; size, sha256 and Parquet rows and schema checked on exactly these
    bytes (decode them with `pa.BufferReader`). A one-line SynthError when anything differs."""
    store = shard_set.store
    path = store.display(shard_file.path)
    try:
        data = store.read_buffer(shard_file.path)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    _check_size(path, len(data) if isinstance(data, bytes) else data.size, shard_file)
    _check_sha256(path, hashlib.sha256(data).hexdigest(), shard_file)  # hashlib releases the GIL
    _check_parquet(path, pa.BufferReader(data), shard_file)
    return data


def _check_parquet(path: str, source, shard_file: ShardFile) -> None:
    try:
        parquet = pq.ParquetFile(source)
    except Exception:  # pyarrow raises several types for unreadable files
        raise SynthError(f"shard file {path} is not readable Parquet; {_REGENERATE}") from None
    if parquet.metadata.num_rows != shard_file.rows:
        raise SynthError(f"shard file {path} holds {parquet.metadata.num_rows} rows, the manifest says {shard_file.rows}; {_REGENERATE}")
    actual = parquet.schema_arrow
    for field in ARROW_SCHEMAS[shard_file.table]:
        index = actual.get_field_index(field.name)
        if index < 0:
            raise SynthError(f"shard file {path} lacks column {field.name!r} of table {shard_file.table}; {_REGENERATE}")
        if not actual.field(index).type.equals(field.type):
            raise SynthError(
                f"shard file {path} column {field.name!r} has type {actual.field(index).type}, expected {field.type}; {_REGENERATE}"
            )


def verify_partitions(shard_set: ShardSet, partitions: list[Partition], *, threads: int = 2) -> None:
    """Before anything is written: locally existence, size, sha256 and Parquet schema of every file of
    `partitions`; on an object store existence and size from one listing (the content is checked by
    `read_verified` on the bytes loaded)."""
    files = [f for p in partitions for f in p.files]
    store = shard_set.store
    if not store.is_local:
        try:
            listed = store.list_files()
        except OSError as exc:
            raise SynthError(f"cannot list the shard files in {store.display()}: {reason(exc)}; "
                             "check access to the shard store (s3:ListBucket) and retry") from None
        for shard_file in files:
            _check_size(store.display(shard_file.path), listed.get(shard_file.path), shard_file)
        return
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:  # hashlib releases the GIL
        for future in [pool.submit(_check_file, shard_set, f) for f in files]:
            future.result()


def files_in_load_order(partition: Partition) -> list[ShardFile]:
    order = {name: i for i, name in enumerate(TABLE_ORDER)}
    return sorted(partition.files, key=lambda f: order[f.table])
