"""Generate the JSON Schemas in specs/ from the contract models.

    python -m synth_pipeline.contracts.export          # rewrite specs/*.schema.json
    python -m synth_pipeline.contracts.export --check  # exit 1 if any file is stale
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from synth_pipeline.contracts.distribution_spec import DistributionSpec
from synth_pipeline.contracts.metrics_pack import MetricsPack
from synth_pipeline.contracts.pack_manifest import PackManifest
from synth_pipeline.contracts.shard_manifest import ShardManifest
from synth_pipeline.fsutil import atomic_write_bytes
from synth_pipeline.paths import (
    DISTRIBUTION_SPEC_SCHEMA,
    METRICS_PACK_SCHEMA,
    PACK_MANIFEST_SCHEMA,
    SHARD_MANIFEST_SCHEMA,
)

SCHEMAS: dict[Path, tuple[type[BaseModel], str]] = {
    METRICS_PACK_SCHEMA: (MetricsPack, "synth-pipeline metrics pack: aggregates only, no free strings"),
    PACK_MANIFEST_SCHEMA: (PackManifest, "synth-pipeline pack mapping manifest (PACK_mapping.json)"),
    DISTRIBUTION_SPEC_SCHEMA: (DistributionSpec, "synth-pipeline distribution spec"),
    SHARD_MANIFEST_SCHEMA: (ShardManifest, "synth-pipeline shard manifest (DIR/manifest.json)"),
}


def schema_bytes(model: type[BaseModel], title: str) -> bytes:
    # Serialization mode: every field is required in the file, defaults included (model_dump writes them all).
    schema = model.model_json_schema(mode="serialization")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title, **{k: v for k, v in schema.items() if k != "title"}}
    return (json.dumps(schema, indent=2, sort_keys=True) + "\n").encode()


def main(argv: list[str] | None = None) -> int:
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    stale = []
    for path, (model, title) in SCHEMAS.items():
        payload = schema_bytes(model, title)
        if check:
            if not path.exists() or path.read_bytes() != payload:
                stale.append(path.name)
        else:
            atomic_write_bytes(path, payload)
    if stale:
        print(f"stale JSON Schemas: {', '.join(stale)}; run python -m synth_pipeline.contracts.export", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
