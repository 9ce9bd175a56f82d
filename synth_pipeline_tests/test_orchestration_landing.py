"""The landing sensor's completeness rule and the quarterly schedule's guard, without running jobs.

A pack is complete when its `<id>_mapping.json` records the sha256 of the pack's current bytes; a
pack still being copied (no manifest, a stale manifest, a truncated file) waits for a later tick.
The scan hashes packs and reads only `pack_sha256` from manifests, so plain bytes stand in for packs.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import pytest

from synth_pipeline.definitions import defs
from synth_pipeline.defs.orchestration.schedules import quarterly_refresh_schedule
from synth_pipeline.defs.orchestration.sensors import landing_sensor
from synth_pipeline.defs.partitions import PACK_PARTITIONS_NAME
from synth_pipeline.defs.resources import LandingDirectory, PostgresDatabase

PACK_BYTES = b'{"pack": "aggregates only"}\n'


def _land(directory: Path, pack_id: str, pack: bytes, manifest_digest_of: bytes | None = None) -> None:
    (directory / f"{pack_id}.json").write_bytes(pack)
    if manifest_digest_of is not None:
        digest = hashlib.sha256(manifest_digest_of).hexdigest()
        (directory / f"{pack_id}_mapping.json").write_text(json.dumps({"pack_sha256": digest}))


def _tick(instance: dg.DagsterInstance, landing: Path, cursor: str | None = None):
    with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs,
                                 resources={"landing": LandingDirectory(path=str(landing))}) as context:
        return landing_sensor(context)


def test_incomplete_packs_wait_and_complete_ones_run_once(tmp_path: Path) -> None:
    _land(tmp_path, "no_manifest_yet", PACK_BYTES)
    _land(tmp_path, "still_copying", PACK_BYTES[:10], manifest_digest_of=PACK_BYTES)  # truncated copy
    (tmp_path / "broken_manifest.json").write_bytes(PACK_BYTES)
    (tmp_path / "broken_manifest_mapping.json").write_text("{not json")
    (tmp_path / ".hidden.json").write_bytes(PACK_BYTES)
    with dg.instance_for_test() as instance:
        waiting = _tick(instance, tmp_path)
        assert isinstance(waiting, dg.SkipReason)
        assert "waiting for 3 incomplete pack(s)" in waiting.skip_message

        # The copy finishes: exactly that pack becomes a partition and a run.
        (tmp_path / "still_copying.json").write_bytes(PACK_BYTES)
        ready = _tick(instance, tmp_path)
        assert isinstance(ready, dg.SensorResult)
        assert [r.partition_key for r in ready.run_requests] == ["still_copying"]
        [add] = ready.dynamic_partitions_requests
        assert add.partitions_def_name == PACK_PARTITIONS_NAME and list(add.partition_keys) == ["still_copying"]

        # Idempotent: the same files with the returned cursor request nothing.
        assert isinstance(_tick(instance, tmp_path, cursor=ready.cursor), dg.SkipReason)


def test_a_relanded_changed_pack_runs_again_under_a_new_run_key(tmp_path: Path) -> None:
    _land(tmp_path, "2026q1", PACK_BYTES, manifest_digest_of=PACK_BYTES)
    with dg.instance_for_test() as instance:
        first = _tick(instance, tmp_path)
        instance.add_dynamic_partitions(PACK_PARTITIONS_NAME, ["2026q1"])
        changed = PACK_BYTES.replace(b"only", b"only, re-sampled")
        _land(tmp_path, "2026q1", changed, manifest_digest_of=changed)
        second = _tick(instance, tmp_path, cursor=first.cursor)
        assert isinstance(second, dg.SensorResult)
        assert [r.partition_key for r in second.run_requests] == ["2026q1"]
        assert second.run_requests[0].run_key != first.run_requests[0].run_key
        assert second.dynamic_partitions_requests == [], "a known partition is not added twice"


def test_a_file_whose_name_is_not_a_pack_id_is_ignored(tmp_path: Path) -> None:
    bad_name = "bad name!"
    _land(tmp_path, bad_name, PACK_BYTES, manifest_digest_of=PACK_BYTES)
    with dg.instance_for_test() as instance:
        result = _tick(instance, tmp_path)
    assert isinstance(result, dg.SkipReason) and "waiting" not in result.skip_message


QUARTER_START = datetime(2027, 1, 1, 3, 0, tzinfo=timezone.utc)


def test_quarterly_schedule_samples_only_an_explicitly_named_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTH_SOURCE_URL", raising=False)
    # The context is a context manager: leaving it releases the instance (a dangling reference
    # breaks later tests' Dagster instances).
    with dg.instance_for_test() as instance, dg.build_schedule_context(
            instance=instance, scheduled_execution_time=QUARTER_START,
            resources={"source_db": PostgresDatabase(url_env="SYNTH_SOURCE_URL")}) as context:
        skipped = quarterly_refresh_schedule.evaluate_tick(context)
        assert not skipped.run_requests and "SYNTH_SOURCE_URL is not set" in skipped.skip_message

        monkeypatch.setenv("SYNTH_SOURCE_URL", "postgresql://reader@production.invalid/chat")
        ticked = quarterly_refresh_schedule.evaluate_tick(context)
    [request] = ticked.run_requests
    assert request.run_key == "2027q1" and request.tags["synth/pack"] == "2027q1"
    assert "production.invalid" not in json.dumps(request.run_config), "run config never carries a DSN"


def test_quarterly_schedule_follows_a_source_resource_on_its_own_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployment may name the source through another variable of the source_db resource."""
    monkeypatch.delenv("SYNTH_SOURCE_URL", raising=False)
    monkeypatch.setenv("CHAT_PRODUCTION_READONLY_URL", "postgresql://reader@production.invalid/chat")
    with dg.instance_for_test() as instance, dg.build_schedule_context(
            instance=instance, scheduled_execution_time=QUARTER_START,
            resources={"source_db": PostgresDatabase(url_env="CHAT_PRODUCTION_READONLY_URL")}) as context:
        [request] = quarterly_refresh_schedule.evaluate_tick(context).run_requests
    assert request.run_key == "2027q1"
