"""Pack files for the Dagster shell: ingest a pack that landed from production, or sample one.

A landed pack is copied as it is, *without* validation: the privacy stage's blocking check on
`metrics_pack` judges it. Nothing is read *from* it: until that gate has passed, only facts about
the file (its path, sha256 and size) may reach Dagster's metadata or event log. Even a "numeric
total" of an unvalidated file can be a planted card number.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

from synth_pipeline.contracts.files import manifest_path_for, write_pack_pair
from synth_pipeline.errors import SynthError
from synth_pipeline.sampler.core import SampleResult, sample_pack, write_pack


@dataclass(frozen=True)
class PackFiles:
    pack_path: Path
    manifest_path: Path | None
    sha256: str
    size_bytes: int
    sampled: bool = False  # made here from aggregates, schema-validated before writing (else: landed, unread)
    totals: dict[str, int] | None = None  # sampled packs only
    statements: int = 0


def ingest_pack(landed: Path, dest: Path) -> PackFiles:
    """Copy a landed pack (and its `_mapping.json`, when present) into storage, unvalidated and unread."""
    try:
        pack_bytes = landed.read_bytes()
    except OSError as exc:
        raise SynthError(f"cannot read landed pack {landed}: {exc.strerror}") from None
    manifest = manifest_path_for(landed)
    dest_manifest = write_pack_pair(dest, pack_bytes, manifest.read_bytes() if manifest.exists() else None)
    return PackFiles(dest, dest_manifest, hashlib.sha256(pack_bytes).hexdigest(), len(pack_bytes))


def sample_to_landing(dsn: str, landed: str | Path, **options) -> tuple[SampleResult, Path]:
    """Sample the source and write the pack (and its manifest) at `landed`: the result and the pack's path."""
    result = sample_pack(dsn, **options)
    pack_path, _ = write_pack(result, landed)
    return result, pack_path


def sample_into(dsn: str, landed: Path, dest: Path, **options) -> PackFiles:
    """Sample the source into `landed` (pack + manifest), then copy both into storage as a landed pack is."""
    result, _ = sample_to_landing(dsn, landed, **options)
    return dataclasses.replace(ingest_pack(landed, dest), sampled=True,
                               totals=result.pack.totals.model_dump(exclude_none=True),
                               statements=result.manifest.statements_executed)
