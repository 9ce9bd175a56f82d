"""The Dagster generation stage with a stand-in `calibrated_spec` (same key and partitions as the
real asset, its value a spec path), so tests run `synthetic_shards` / `shard_manifest` alone.

- `stand_in_setup(spec_path, storage)`: an ephemeral instance with the 2026q1 pack partition, the
  stand-in materialized there; returns `(instance, resources, stand_in, spec_path)`.
- `setup` (fixture): that, with a copy of the reference spec and storage under tmp_path.
- `materialize_shard(setup, key, config)` / `materialize_manifest(setup)`: one shard partition, the
  manifest over what is there.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import NamedTuple

import dagster as dg
import pytest

from synth_pipeline.defs.generation.assets import shard_manifest, synthetic_shards
from synth_pipeline.defs.partitions import pack_partitions
from synth_pipeline.defs.resources import PipelineStorage
from synth_pipeline.paths import REFERENCE_SPEC
from synth_pipeline_tests.dagster_fixtures import pack_instance


class GenerationSetup(NamedTuple):
    instance: dg.DagsterInstance
    resources: dict
    stand_in: dg.AssetsDefinition
    spec_path: Path


def stand_in_setup(spec_path: Path, storage: PipelineStorage) -> GenerationSetup:
    @dg.asset(partitions_def=pack_partitions, name="calibrated_spec")
    def calibrated_spec_stand_in() -> str:
        return str(spec_path)

    instance = pack_instance("2026q1")
    resources = {"storage": storage}
    assert dg.materialize([calibrated_spec_stand_in], instance=instance, partition_key="2026q1", resources=resources).success
    return GenerationSetup(instance, resources, calibrated_spec_stand_in, spec_path)


@pytest.fixture()
def setup(tmp_path: Path) -> GenerationSetup:
    spec_path = tmp_path / "calibrated.json"
    shutil.copy(REFERENCE_SPEC, spec_path)
    return stand_in_setup(spec_path, PipelineStorage(root=str(tmp_path / "storage")))


def materialize_shard(setup: GenerationSetup, key: str, config: dict, *, resources: dict | None = None,
                      ) -> dg.ExecuteInProcessResult:
    """`synthetic_shards[key]` with `config` as its op config (`resources` default: the setup's)."""
    return dg.materialize([synthetic_shards, setup.stand_in], selection=[synthetic_shards], instance=setup.instance,
                          partition_key=key, resources=setup.resources if resources is None else resources,
                          run_config={"ops": {"synthetic_shards": {"config": config}}})


def materialize_manifest(setup: GenerationSetup, **kwargs) -> dg.ExecuteInProcessResult:
    """`shard_manifest` over the shard partitions materialized so far (kwargs go to dg.materialize)."""
    return dg.materialize([shard_manifest, synthetic_shards, setup.stand_in], selection=[shard_manifest],
                          instance=setup.instance, resources=setup.resources, **kwargs)
