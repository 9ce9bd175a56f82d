"""The privacy gate in Dagster: a blocking check on `metrics_pack` stops everything downstream,
`validated_pack` refuses on its own too, and no planted value reaches the event log.

`metrics_pack` and `calibrated_spec` are tiny stand-ins with the real keys and partitions, so the
graph metrics_pack -> [check] -> validated_pack -> calibrated_spec runs without the sampler or
calibration code. (No `from __future__ import annotations`: Dagster reads the context annotation.)
"""

from pathlib import Path

import dagster as dg
import pytest

from synth_pipeline.defs.partitions import PACK_PARTITIONS_NAME, pack_partitions
from synth_pipeline.defs.privacy import ASSET_CHECKS, ASSETS
from synth_pipeline.defs.privacy.checks import CHECK_NAME
from synth_pipeline.defs.resources import PipelineStorage
from synth_pipeline_tests.privacy_fixtures import PLANTED, planted, valid_pack, write_pack


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    write_pack(root, "clean")
    write_pack(root, "dirty", planted(valid_pack()))
    (root / "broken.json").write_text("{")
    return root


def stand_ins(landing: Path):
    @dg.asset(name="metrics_pack", partitions_def=pack_partitions)
    def metrics_pack(context: dg.AssetExecutionContext) -> str:
        return str(landing / f"{context.partition_key}.json")

    @dg.asset(name="calibrated_spec", partitions_def=pack_partitions)
    def calibrated_spec(validated_pack: str) -> str:
        return validated_pack.replace(".json", ".spec.json")

    return metrics_pack, calibrated_spec


def materialize(landing: Path, tmp_path: Path, partition: str, *, with_check: bool = True) -> tuple[dg.ExecuteInProcessResult, dg.DagsterInstance]:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(PACK_PARTITIONS_NAME, [partition])
    metrics_pack, calibrated_spec = stand_ins(landing)
    result = dg.materialize(
        [metrics_pack, *ASSETS, calibrated_spec, *(ASSET_CHECKS if with_check else [])],
        instance=instance,
        partition_key=partition,
        resources={"storage": PipelineStorage(root=str(tmp_path / "store"))},
        raise_on_error=False,
    )
    return result, instance


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_clean_pack_flows_to_the_spec(landing: Path, tmp_path: Path) -> None:
    result, _ = materialize(landing, tmp_path, "clean")
    assert result.success
    assert materialized(result) == {"metrics_pack", "validated_pack", "calibrated_spec"}
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.check_name == CHECK_NAME
    validated = result.output_for_node("validated_pack")
    assert Path(validated) == tmp_path / "store" / "validated" / "clean.json"
    assert Path(validated).read_bytes() == (landing / "clean.json").read_bytes()


def test_blocking_check_stops_the_graph_and_metadata_carries_no_value(landing: Path, tmp_path: Path) -> None:
    result, instance = materialize(landing, tmp_path, "dirty")
    assert not result.success
    assert materialized(result) == {"metrics_pack"}  # neither validated_pack nor calibrated_spec
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    counts = evaluation.metadata["findings_by_detector"].value
    assert {"schema", "email", "phone", "payment_card", "person_name"} <= set(counts)
    assert "dirty.json: $.metrics.heavy_rooms.rooms[0].token: email" in evaluation.metadata["finding_locations"].value
    assert not (tmp_path / "store" / "validated").exists()
    log = "\n".join(repr(entry) for entry in instance.all_logs(result.run_id))
    assert "findings_by_detector" in log
    for value in PLANTED.values():
        assert value not in log


def test_unreadable_pack_fails_the_check(landing: Path, tmp_path: Path) -> None:
    result, _ = materialize(landing, tmp_path, "broken")
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and "not valid JSON" in evaluation.description
    assert materialized(result) == {"metrics_pack"}


def test_validated_pack_is_a_second_gate_without_the_check(landing: Path, tmp_path: Path) -> None:
    result, instance = materialize(landing, tmp_path, "dirty", with_check=False)
    assert not result.success
    assert materialized(result) == {"metrics_pack"}
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert failure.step_key == "validated_pack"
    log = "\n".join(repr(entry) for entry in instance.all_logs(result.run_id))
    for value in PLANTED.values():
        assert value not in log
