"""Partitions shared by the stage definitions.

- `pack_partitions`: one dynamic partition per metrics pack (the pack id, e.g. `2026q4` or the
  landing file's stem). The landing sensor adds them; tests add them with
  `instance.add_dynamic_partitions(PACK_PARTITIONS_NAME, [...])`.
"""

import dagster as dg

PACK_PARTITIONS_NAME = "metrics_packs"
pack_partitions = dg.DynamicPartitionsDefinition(name=PACK_PARTITIONS_NAME)
