"""Arrow schemas of the six logical tables: the in-memory and Parquet form of shards.

The generator writes exactly these schemas; the loader reads them and streams binary COPY.
Timestamps are microseconds since the Unix epoch in UTC (PostgreSQL's own resolution).
"""

from __future__ import annotations

import pyarrow as pa

from synth_pipeline.schema.logical import LOGICAL_TABLES

TIMESTAMP = pa.timestamp("us", tz="UTC")
_ARROW_TYPES = {"bigint": pa.int64(), "text": pa.string(), "boolean": pa.bool_(), "timestamptz": TIMESTAMP}

ARROW_SCHEMAS: dict[str, pa.Schema] = {
    t.name: pa.schema([pa.field(c.name, _ARROW_TYPES[c.pg_type], nullable=c.nullable) for c in t.columns])
    for t in LOGICAL_TABLES
}


def arrow_schema(logical_table: str) -> pa.Schema:
    return ARROW_SCHEMAS[logical_table]
