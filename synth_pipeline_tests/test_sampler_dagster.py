"""The `metrics_pack` asset: ingests a pack that landed from production (unvalidated, without
touching the source) or samples the source into the landing directory and storage."""

from __future__ import annotations

import json
import re

import dagster as dg
import pytest

from synth_pipeline.defs.partitions import PACK_PARTITIONS_NAME
from synth_pipeline.defs.resources import LandingDirectory, PipelineStorage, PostgresDatabase
from synth_pipeline.defs.sampling.assets import metrics_pack
from synth_pipeline.fsutil import sha256_file
from synth_pipeline_tests.dagster_fixtures import failure_description, metadata_values
from synth_pipeline_tests.sampler_fixtures import build_small, salt_env  # noqa: F401

SOURCE_ENV = "SAMPLER_TEST_SOURCE_URL"


@pytest.fixture(scope="module")
def source(pg_dsn: str) -> str:
    build_small(pg_dsn, messages=5_000)
    return pg_dsn


def _materialize(tmp_path, partition: str, run_config: dict | None = None,
                 instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
    instance = instance or dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(PACK_PARTITIONS_NAME, [partition])
    return dg.materialize(
        [metrics_pack],
        partition_key=partition,
        instance=instance,
        resources={
            "source_db": PostgresDatabase(url_env=SOURCE_ENV),
            "landing": LandingDirectory(path=str(tmp_path / "landing")),
            "storage": PipelineStorage(root=str(tmp_path / "storage")),
        },
        run_config=run_config,
        raise_on_error=False,
    )


def _metadata(result: dg.ExecuteInProcessResult) -> dict:
    (event,) = result.get_asset_materialization_events()
    return metadata_values(event.materialization.metadata)


def test_samples_the_source_when_nothing_landed(source, salt_env, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(SOURCE_ENV, source)
    result = _materialize(tmp_path, "2026q4", {"ops": {"metrics_pack": {"config": {"window_days": 14}}}})
    assert result.success
    path = result.output_for_node("metrics_pack")
    assert path == str(tmp_path / "storage" / "packs" / "2026q4.json")
    landed = tmp_path / "landing" / "2026q4.json"
    assert landed.read_bytes() == (tmp_path / "storage" / "packs" / "2026q4.json").read_bytes()
    assert (tmp_path / "storage" / "packs" / "2026q4_mapping.json").exists()
    assert json.loads(landed.read_text())["window"]["days"] == 14
    metadata = _metadata(result)
    assert metadata["source"] == "sampled" and metadata["sha256"] == sha256_file(landed)
    manifest = json.loads((tmp_path / "landing" / "2026q4_mapping.json").read_text())
    assert metadata["totals"]["messages"] > 0 and metadata["statements"] == manifest["statements_executed"] >= 6


def test_ingests_a_landed_pack_without_validating_or_sampling(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(SOURCE_ENV, "postgresql://nobody@127.0.0.1:1/unreachable")  # sampling would fail
    landing = tmp_path / "landing"
    landing.mkdir()
    # Not a valid pack on purpose: the privacy stage's blocking check judges it, not this asset.
    (landing / "from-prod.json").write_text(json.dumps({"totals": {"messages": 12, "users": "alice@example.com"}, "x": 1}))
    (landing / "from-prod_mapping.json").write_text("{}")
    result = _materialize(tmp_path, "from-prod")
    assert result.success
    stored = tmp_path / "storage" / "packs" / "from-prod.json"
    assert result.output_for_node("metrics_pack") == str(stored)
    assert stored.read_bytes() == (landing / "from-prod.json").read_bytes()
    assert (tmp_path / "storage" / "packs" / "from-prod_mapping.json").read_text() == "{}"
    metadata = _metadata(result)
    assert metadata["source"] == "landed" and metadata["sha256"] == sha256_file(stored)
    assert metadata["size_bytes"] == stored.stat().st_size and metadata["pack_id"] == "from-prod"
    assert "totals" not in metadata  # nothing from inside an unvalidated pack


# A Luhn-valid card number, as an integer where a landed pack's totals would be.
PLANTED_CARD = 4_539_578_763_621_486


def test_a_card_number_planted_in_a_landed_packs_totals_never_reaches_the_event_log(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(SOURCE_ENV, "postgresql://nobody@127.0.0.1:1/unreachable")
    landing = tmp_path / "landing"
    landing.mkdir()
    totals = {"users": PLANTED_CARD, "messages": PLANTED_CARD, "conversations": 3, "reads": PLANTED_CARD}
    (landing / "planted.json").write_text(json.dumps({"totals": totals, "metrics": {}}))
    (landing / "planted_mapping.json").write_text(json.dumps({"window": {"days": PLANTED_CARD}}))
    instance = dg.DagsterInstance.ephemeral()
    result = _materialize(tmp_path, "planted", instance=instance)
    assert result.success
    metadata = _metadata(result)
    assert set(metadata) <= {"pack_path", "sha256", "size_bytes", "pack_id", "source", "duration_s", "path"}  # "path": the IO manager's
    logged = "\n".join(dg.serialize_value(entry) for entry in instance.all_logs(result.run_id))
    assert "planted" in logged and metadata["sha256"] in logged  # the log holds this run's materialization
    digits = re.sub(r"\D", "", logged)  # catches 4539578763621486 however it is grouped or formatted
    assert str(PLANTED_CARD) not in digits


def test_bad_input_fails_the_run_with_one_line(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("ANONYMIZATION_SALT", raising=False)
    monkeypatch.setenv(SOURCE_ENV, "postgresql://nobody@127.0.0.1:1/unreachable")
    result = _materialize(tmp_path, "no-salt")
    assert not result.success
    assert "ANONYMIZATION_SALT" in failure_description(result)
    assert not (tmp_path / "landing" / "no-salt.json").exists()


def test_quarterly_sample_refuses_a_pack_id_that_is_not_a_plain_name(source, salt_env, tmp_path, monkeypatch) -> None:
    from synth_pipeline.defs.orchestration.jobs import quarterly_sample_job

    monkeypatch.setenv(SOURCE_ENV, source)
    landing = tmp_path / "landing"
    result = quarterly_sample_job.execute_in_process(
        run_config={"ops": {"sample_production_into_landing": {"config": {"pack_id": "../escaped"}}}},
        resources={"source_db": PostgresDatabase(url_env=SOURCE_ENV), "landing": LandingDirectory(path=str(landing))},
        raise_on_error=False,
    )
    assert not result.success
    assert "pack id '../escaped'" in failure_description(result)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == []  # nothing outside (or inside) landing


def test_a_partition_key_that_is_not_a_plain_name_writes_nothing(source, salt_env, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(SOURCE_ENV, source)
    result = _materialize(tmp_path, "../escaped")  # dynamic partitions added by hand are any string
    assert not result.success
    assert "pack id '../escaped'" in failure_description(result)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == []
