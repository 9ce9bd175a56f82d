"""The Dagster code location loads, its assets materialize, and dagster.yaml's storage works."""

from __future__ import annotations

import shutil

import dagster as dg
import psycopg

from synth_pipeline.definitions import defs
from synth_pipeline.infra.dsn import dagster_storage_url, with_database
from synth_pipeline.paths import PROJECT_ROOT


def test_definitions_validate_loadable() -> None:
    dg.Definitions.validate_loadable(defs)
    assert "storage" in defs.resources


def test_dagster_yaml_postgres_storage(pg_admin_dsn: str, tmp_path, monkeypatch) -> None:
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS dagster_storage_test WITH (FORCE)")
        conn.execute("CREATE DATABASE dagster_storage_test")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_PG_URL", dagster_storage_url(with_database(pg_admin_dsn, "dagster_storage_test")))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = dg.DagsterInstance.get()
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert instance.get_runs() == []

        @dg.asset
        def probe() -> int:
            return 1

        result = dg.materialize([probe], instance=instance)
        assert result.success
        assert len(instance.get_runs()) == 1
    finally:
        instance.dispose()
    with psycopg.connect(with_database(pg_admin_dsn, "dagster_storage_test")) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 1


def test_every_asset_is_described_owned_grouped_and_tagged_with_its_stage() -> None:
    graph = defs.get_repository_def().asset_graph
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == {"metrics_pack", "validated_pack", "calibrated_spec", "synthetic_shards", "shard_manifest",
                    "loaded_schema", "fidelity_report", "query_baselines"}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        spec = next(s for s in defs.resolve_all_asset_specs() if s.key == key)
        assert node.group_name == "synth_pipeline", key
        assert node.owners == ["team:database-performance"], key
        assert spec.description and spec.kinds and spec.tags.get("stage"), key
    checks = [graph.get_check_spec(key) for key in graph.asset_check_keys]
    blocking = {(c.asset_key.to_user_string(), c.name) for c in checks if c.blocking}
    assert blocking == {("metrics_pack", "no_personal_data"), ("loaded_schema", "integrity")}
