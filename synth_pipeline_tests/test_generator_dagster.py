"""Dagster: `synthetic_shards` partitions in any order, then `shard_manifest`, equal the CLI's bytes.

`calibrated_spec` is replaced by a stand-in with the same key and partitions (its value is a spec
path, as the real asset's), so this module tests the generation stage alone.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import dagster as dg
import pytest

from synth_pipeline.contracts.shard_manifest import ShardManifest, Sizes
from synth_pipeline.defs.generation.assets import (
    N_SHARDS,
    SHARDS_ENV,
    shard_count_from_env,
    shard_partitions,
    synthetic_shards,
)
from synth_pipeline.defs.partitions import pack_partitions
from synth_pipeline.defs.resources import PipelineStorage
from synth_pipeline.generator import generate, load_spec
from synth_pipeline.paths import REFERENCE_SPEC
from synth_pipeline_tests.generation_fixtures import materialize_manifest, materialize_shard, setup  # noqa: F401 (fixture)
from synth_pipeline_tests.helpers import file_hashes

CONFIG = {"seed": 4, "messages": 20_000, "users": 40, "conversations": 60}


def test_partitions_in_any_order_then_manifest_equal_the_cli(setup, tmp_path) -> None:
    spec_path = setup.spec_path
    keys = shard_partitions.get_partition_keys()
    assert keys == ["users", *(f"shard-{k:05d}" for k in range(N_SHARDS))]
    for key in reversed(keys):
        result = materialize_shard(setup, key, CONFIG)
        assert result.success
        value = result.output_for_node("synthetic_shards")
        metadata = result.asset_materializations_for_node("synthetic_shards")[0].metadata
        assert metadata["spec_source"].value == "calibrated_spec[2026q1]"
    shard_dir = Path(value["shard_dir"])
    manifest_result = materialize_manifest(setup)
    assert manifest_result.success
    manifest_path = Path(manifest_result.output_for_node("shard_manifest"))
    assert manifest_path == shard_dir / "manifest.json"
    manifest = ShardManifest.model_validate_json(manifest_path.read_bytes())
    assert manifest.seed == 4 and manifest.n_shards == N_SHARDS and manifest.table_rows["messages"] == 20_000
    # The CLI/core path with the same spec, seed, sizes and shard count writes the same bytes.
    generate(load_spec(spec_path), tmp_path / "cli", seed=4, band=Sizes(users=40, conversations=60, messages=20_000),
             n_shards=N_SHARDS, progress=None)
    assert file_hashes(tmp_path / "cli") == file_hashes(shard_dir)


def test_manifest_refuses_partitions_of_different_generations(setup) -> None:
    for key in shard_partitions.get_partition_keys():
        assert materialize_shard(setup, key, CONFIG).success
    assert materialize_shard(setup, "shard-00000", {**CONFIG, "seed": 5}).success  # lands in its own directory
    result = materialize_manifest(setup, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "different generations" in failure.event_specific_data.error.to_string()


def test_spec_path_config_overrides_the_calibrated_spec(setup) -> None:
    result = materialize_shard(setup, "users", {**CONFIG, "spec_path": str(REFERENCE_SPEC)})
    assert result.success
    assert result.asset_materializations_for_node("synthetic_shards")[0].metadata["spec_source"].value == "run config spec_path"


def test_shard_count_comes_from_the_environment(monkeypatch) -> None:
    monkeypatch.delenv(SHARDS_ENV, raising=False)
    assert shard_count_from_env() == 5
    monkeypatch.setenv(SHARDS_ENV, "300")
    assert shard_count_from_env() == 300
    monkeypatch.setenv(SHARDS_ENV, "many")
    with pytest.raises(ValueError, match=SHARDS_ENV):
        shard_count_from_env()


def test_without_any_pack_the_reference_spec_drives_generation(tmp_path) -> None:
    """A fresh instance (no pack partition registered) generates from the shipped reference spec."""

    @dg.asset(partitions_def=pack_partitions, name="calibrated_spec")
    def never_calibrated() -> str:
        raise AssertionError("not materialized in this test")

    instance = dg.DagsterInstance.ephemeral()
    resources = {"storage": PipelineStorage(root=str(tmp_path / "storage"))}
    result = dg.materialize([synthetic_shards, never_calibrated], selection=[synthetic_shards], instance=instance,
                            partition_key="shard-00000", resources=resources,
                            run_config={"ops": {"synthetic_shards": {"config": CONFIG}}})
    assert result.success
    metadata = result.asset_materializations_for_node("synthetic_shards")[0].metadata
    assert metadata["spec_source"].value == "reference spec (no pack calibrated yet)"
    assert metadata["spec_sha256"].value == hashlib.sha256(REFERENCE_SPEC.read_bytes()).hexdigest()
    assert metadata["rows_per_s"].value > 0 and metadata["duration_s"].value > 0
