"""The `calibrated_spec` asset: materialized per pack partition after `validated_pack`.

The upstream asset here is a stand-in with the same key that returns a pack path, as the privacy
stage's `validated_pack` does; the asset under test is the real one.
"""

from __future__ import annotations

import json

import dagster as dg
import jsonschema
import pytest

from synth_pipeline.defs.calibration.assets import calibrated_spec
from synth_pipeline.defs.partitions import pack_partitions
from synth_pipeline.defs.resources import PipelineStorage
from synth_pipeline.paths import DISTRIBUTION_SPEC_SCHEMA
from synth_pipeline_tests.calibration_fixtures import make_pack, write_pack
from synth_pipeline_tests.dagster_fixtures import failure_description, pack_instance


@pytest.fixture
def landing(tmp_path):
    packs = {"2026q1": make_pack(31), "2026q2": make_pack(31, reads=None)}
    for name, pack in packs.items():
        write_pack(pack, tmp_path / "landing" / f"{name}.json")
    return tmp_path


def _stand_in(landing_dir):
    @dg.asset(name="validated_pack", partitions_def=pack_partitions)
    def validated_pack(context) -> str:
        return str(landing_dir / "landing" / f"{context.partition_key}.json")

    return validated_pack


def test_calibrated_spec_materializes_per_partition_with_diff_vs_previous(landing) -> None:
    instance = pack_instance("2026q1", "2026q2")
    assets = [_stand_in(landing), calibrated_spec]
    resources = {"storage": PipelineStorage(root=str(landing / "artifacts"))}

    first = dg.materialize(assets, partition_key="2026q1", instance=instance, resources=resources)
    assert first.success
    path = first.output_for_node("calibrated_spec")
    document = json.loads(open(path).read())
    jsonschema.validate(document, json.loads(DISTRIBUTION_SPEC_SCHEMA.read_text()))
    assert path == str(landing / "artifacts" / "specs" / "2026q1.json") and document["spec_version"] == 1
    metadata = first.asset_materializations_for_node("calibrated_spec")[0].metadata
    assert metadata["families"].value["message_length"] == "lognormal"
    assert metadata["gof"].value["message_length"]["statistic"] == "ks"
    assert metadata["poor_fit_count"].value == 0
    assert metadata["diff_vs_previous"].value == "no previous spec"

    # The spec's own location survives the IO manager's "path" (where it pickles the value), so
    # the next materialization finds the previous spec through it.
    assert metadata["spec_path"].value == path and metadata["path"].value != path

    second = dg.materialize(assets, partition_key="2026q2", instance=instance, resources=resources)
    assert second.success
    assert second.asset_materializations_for_node("calibrated_spec")[0].metadata["previous_spec"].value == path
    document = json.loads(open(second.output_for_node("calibrated_spec")).read())
    assert document["spec_version"] == 2 and document["parameters"]["reads"] is None
    diff = second.asset_materializations_for_node("calibrated_spec")[0].metadata["diff_vs_previous"].value
    assert "`reads.share_of_messages_read" in diff and "-> absent`" in diff


def test_a_bad_pack_fails_the_run_with_one_line(landing) -> None:
    (landing / "landing" / "broken.json").write_text("{}")
    instance = pack_instance("broken")
    result = dg.materialize(
        [_stand_in(landing), calibrated_spec], partition_key="broken", instance=instance,
        resources={"storage": PipelineStorage(root=str(landing / "artifacts"))}, raise_on_error=False,
    )
    assert not result.success
    assert "not a valid metrics pack: $ breaks the 'required' rule" in failure_description(result)
    assert not (landing / "artifacts" / "specs" / "broken.json").exists()
