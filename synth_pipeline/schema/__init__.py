"""The logical chat schema (DESIGN.md section 4), its physical mappings, DDL and Arrow types."""

from synth_pipeline.schema.logical import LOGICAL_TABLES, TABLE_ORDER, Column, ForeignKey, Index, Table, table
from synth_pipeline.schema.mapping import Mapping, load_mapping

__all__ = [
    "LOGICAL_TABLES", "TABLE_ORDER", "Column", "ForeignKey", "Index", "Table", "table", "Mapping", "load_mapping",
]
