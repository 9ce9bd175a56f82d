"""Where a loaded synthetic schema is, as the reports need it (plain Python, used by the Dagster shell).

The loader's `loaded_schema` asset describes a load; the reports only need the schema, its
mapping and the provisioned environment (whose secrets give the read-only and owner roles).
`LoadedSchemaRef.from_value` accepts what the loader hands over: its `LoadResult`, a mapping with
the same fields, or the path of its `run_<id>.json` record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synth_pipeline.errors import SynthError


@dataclass(frozen=True)
class LoadedSchemaRef:
    schema: str
    mapping: str = "reference"
    env: str | None = None
    run_id: str | None = None

    @classmethod
    def from_value(cls, value: Any, *, default_mapping: str = "reference") -> LoadedSchemaRef:
        if isinstance(value, LoadedSchemaRef):
            return value
        if isinstance(value, (str, Path)):
            path = Path(value)
            try:
                value = json.loads(path.read_bytes())
            except (OSError, ValueError):
                raise SynthError(f"cannot read the load record {path}; pass the loader's run_<id>.json") from None
        fields = value if isinstance(value, dict) else {k: getattr(value, k, None) for k in ("schema", "mapping", "env", "run_id")}
        schema = fields.get("schema")
        if not schema:
            raise SynthError("the loaded_schema value names no schema; expected the loader's LoadResult or run record")
        mapping = fields.get("mapping") or default_mapping
        if isinstance(mapping, dict):  # a record may describe the mapping as {name, sha256, ...}
            mapping = mapping.get("source_path") or mapping.get("name") or default_mapping
        return cls(schema=str(schema), mapping=str(mapping), env=fields.get("env"), run_id=fields.get("run_id"))
