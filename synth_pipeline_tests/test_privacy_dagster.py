"""The privacy gate in Dagster: a blocking check on `metrics_pack` stops everything downstream,
`validated_pack` refuses on its own too, and no planted value reaches the event log.

`metrics_pack` and `calibrated_spec` are tiny stand-ins with the real keys and partitions, so the
graph metrics_pack -> [check] -> validated_pack -> calibrated_spec runs without the sampler or
calibration code. (No `from __future__ import annotations`: Dagster reads the context annotation.)
"""

from pathlib import Path

import dagster as dg
import pytest

from synth_pipeline.defs.partitions import pack_partitions
from synth_pipeline.defs.privacy import ASSET_CHECKS, ASSETS
from synth_pipeline.defs.privacy.checks import CHECK_NAME
from synth_pipeline.defs.resources import PipelineStorage
from synth_pipeline_tests.dagster_fixtures import pack_instance
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
    instance = pack_instance(partition)
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


# --- the real graph of the code location: metrics_pack -> [gate] -> validated_pack -> calibrated_spec


def real_graph():
    """The stage modules' own asset and check objects, after asserting that the code location
    wires them as metrics_pack -> validated_pack -> calibrated_spec with the check on the pack."""
    from synth_pipeline.defs.calibration.assets import calibrated_spec
    from synth_pipeline.defs.privacy.assets import validated_pack
    from synth_pipeline.defs.privacy.checks import metrics_pack_no_personal_data
    from synth_pipeline.defs.sampling.assets import metrics_pack
    from synth_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    pack, validated, spec = (dg.AssetKey(k) for k in ("metrics_pack", "validated_pack", "calibrated_spec"))
    assert graph.get(validated).parent_keys == {pack} and graph.get(spec).parent_keys == {validated}
    assert dg.AssetCheckKey(pack, CHECK_NAME) in graph.asset_check_keys
    return [metrics_pack, validated_pack, calibrated_spec], [metrics_pack_no_personal_data]


def materialize_real(landing: Path, tmp_path: Path, partition: str, monkeypatch) -> tuple[dg.ExecuteInProcessResult, dg.DagsterInstance]:
    from synth_pipeline.defs.resources import LandingDirectory, PostgresDatabase

    # Landed packs are ingested as they are; a source that cannot be reached proves nothing is sampled.
    monkeypatch.setenv("PRIVACY_TEST_SOURCE_URL", "postgresql://nobody@127.0.0.1:1/unreachable")
    assets, checks = real_graph()
    instance = pack_instance(partition)
    result = dg.materialize(
        [*assets, *checks],
        instance=instance,
        partition_key=partition,
        resources={
            "source_db": PostgresDatabase(url_env="PRIVACY_TEST_SOURCE_URL"),
            "landing": LandingDirectory(path=str(landing)),
            "storage": PipelineStorage(root=str(tmp_path / "store")),
        },
        raise_on_error=False,
    )
    return result, instance


def test_real_graph_blocks_a_pack_with_planted_pii(landing: Path, tmp_path: Path, monkeypatch) -> None:
    result, instance = materialize_real(landing, tmp_path, "dirty", monkeypatch)
    assert not result.success
    assert materialized(result) == {"metrics_pack"}
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert not (tmp_path / "store" / "specs").exists(), "the downstream spec must not be produced"
    assert not (tmp_path / "store" / "validated").exists()
    log = "\n".join(repr(entry) for entry in instance.all_logs(result.run_id))
    for value in PLANTED.values():
        assert value not in log


def test_real_graph_calibrates_a_clean_pack(landing: Path, tmp_path: Path, monkeypatch) -> None:
    result, _ = materialize_real(landing, tmp_path, "clean", monkeypatch)
    assert result.success
    assert materialized(result) == {"metrics_pack", "validated_pack", "calibrated_spec"}
    assert Path(result.output_for_node("calibrated_spec")) == tmp_path / "store" / "specs" / "clean.json"
    assert (tmp_path / "store" / "validated" / "clean.json").read_bytes() == (landing / "clean.json").read_bytes()
