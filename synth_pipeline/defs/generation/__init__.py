"""Dagster definitions of the generation stage: `synthetic_shards` (static partitions: users and
one per shard; SYNTH_GENERATION_SHARDS sets the shard count) and `shard_manifest`.
A thin shell over synth_pipeline.generator; see assets.py for the partitioning design.

`synthetic_shards` takes `calibrated_spec` as an input; an input no asset of the code location
produces makes the location fail to load, so should the calibration stage not register it, an
external asset of the same key and partitions stands in (its materializations can still be
reported), and the location loads.
"""

import dagster as dg

from synth_pipeline.defs import calibration
from synth_pipeline.defs.generation.assets import shard_manifest, synthetic_shards
from synth_pipeline.defs.partitions import pack_partitions

CALIBRATED_SPEC = dg.AssetKey("calibrated_spec")


def _defines(defs: dg.Definitions, key: dg.AssetKey) -> bool:
    return any(key in getattr(asset, "keys", {getattr(asset, "key", None)}) for asset in defs.assets or [])


_external = [] if _defines(calibration.defs, CALIBRATED_SPEC) else [dg.AssetSpec(CALIBRATED_SPEC, partitions_def=pack_partitions)]
defs = dg.Definitions(assets=[synthetic_shards, shard_manifest, *_external])
