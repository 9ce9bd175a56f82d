"""Small helpers for Dagster results and instances in tests.

- `pack_instance(*keys)`: an ephemeral instance with those pack partitions registered.
- `failure_description(result)`: the description of the first step failure (a dg.Failure's one line).
- `check_evaluation(result)`: the first asset check evaluation of a run.
- `check_passed(result, asset, check)`: whether every evaluation of that check passed (it must have run).
- `metadata_values(metadata)`: `{key: value}` of a materialization's metadata entries.
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from synth_pipeline.defs.partitions import PACK_PARTITIONS_NAME


def pack_instance(*keys: str) -> dg.DagsterInstance:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(PACK_PARTITIONS_NAME, list(keys))
    return instance


def failure_description(result: dg.ExecuteInProcessResult) -> str:
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    return failure.event_specific_data.user_failure_data.description  # the dg.Failure's description


def check_evaluation(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    return result.get_asset_check_evaluations()[0]


def check_passed(result: dg.ExecuteInProcessResult, asset: str, check: str) -> bool:
    evaluations = [e.asset_check_evaluation_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    matching = [e for e in evaluations if e.asset_key == dg.AssetKey(asset) and e.check_name == check]
    assert matching, f"check {asset}:{check} did not run"
    return all(e.passed for e in matching)


def metadata_values(metadata: Mapping[str, dg.MetadataValue]) -> dict:
    return {k: v.value for k, v in metadata.items()}
