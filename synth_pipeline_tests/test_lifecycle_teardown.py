"""Teardown leaves nothing (databases, roles, schemas, .secrets/ are listed afterwards), refuses
without the typed confirmation, and TTL expiry finds and drops expired loads."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo

from synth_pipeline.cli import main
from synth_pipeline.loader import audit, registry, secrets_store
from synth_pipeline.loader.load import load_shards
from synth_pipeline.loader.provision import provision
from synth_pipeline_tests.loader_fixtures import shard_dir  # noqa: F401
from synth_pipeline_tests.pg import create_database, database_exists, drop_database


def _server_inventory(admin_dsn: str) -> tuple[list[str], list[str]]:
    with psycopg.connect(admin_dsn) as conn:
        databases = [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'chat_perf%'")]
        roles = [r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'chat_perf%'")]
    return databases, roles


def _schemas(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'synth%' ORDER BY 1")]


def test_environment_teardown_needs_the_name_typed_back_and_leaves_nothing(
        pg_admin_dsn: str, shard_dir: Path, isolated_state: Path, capsys) -> None:
    if database_exists(pg_admin_dsn, "chat_perf_dev"):
        pytest.skip("the server already has chat_perf_dev; not touching it")
    provision("dev", pg_admin_dsn)
    dev_url = secrets_store.env_database_url("dev")
    assert main(["load", "--shards", str(shard_dir), "--env", "dev", "--schema", "perf_chat"]) == 0
    # an open session of the app role, which teardown must terminate
    app_session = psycopg.connect(conninfo.make_conninfo(pg_admin_dsn, user="chat_perf_dev_app", dbname="chat_perf_dev"))
    try:
        for confirm in (None, "staging", "DEV"):
            args = ["teardown", "--env", "dev", "--admin-url", pg_admin_dsn] + (["--confirm", confirm] if confirm else [])
            assert main(args) == 2
            assert "--confirm must repeat the environment name" in capsys.readouterr().err
        assert database_exists(pg_admin_dsn, "chat_perf_dev") and secrets_store.env_file("dev").exists()
        assert main(["teardown", "--env", "dev", "--confirm", "dev", "--admin-url", pg_admin_dsn]) == 0
        assert app_session.closed or _is_dead(app_session)
    finally:
        app_session.close()
    databases, roles = _server_inventory(pg_admin_dsn)
    assert databases == [] and roles == []
    assert not secrets_store.secrets_dir().exists()  # the last secrets file took the directory with it
    assert registry.entries() == []
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dev_url).close()
    actions = [json.loads(line)["action"] for line in audit.audit_log_path().read_text().splitlines()]
    assert actions == ["provision", "load_started", "load_finished", "teardown"]
    assert audit.verify().intact


def _is_dead(conn: psycopg.Connection) -> bool:
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False


def test_schema_teardown_drops_only_what_the_loader_created(pg_dsn: str, shard_dir: Path, isolated_state: Path, capsys) -> None:
    load_shards(shard_dir, pg_dsn, "synth_keep")
    load_shards(shard_dir, pg_dsn, "synth_drop")
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("CREATE SCHEMA synth_foreign")
    assert main(["teardown", "--target-url", pg_dsn, "--schema", "synth_drop", "--confirm", "synth_keep"]) == 2
    assert main(["teardown", "--target-url", pg_dsn, "--schema", "synth_foreign", "--confirm", "synth_foreign"]) == 2
    assert "not created by the loader" in capsys.readouterr().err
    assert main(["teardown", "--target-url", pg_dsn, "--schema", "synth_drop", "--confirm", "synth_drop"]) == 0
    assert _schemas(pg_dsn) == ["synth_foreign", "synth_keep", "synth_meta"]
    with psycopg.connect(pg_dsn) as conn:
        managed = [r[0] for r in conn.execute("SELECT schema_name FROM synth_meta.managed_schemas")]
        torn = conn.execute("SELECT count(*) FROM synth_meta.load_runs WHERE torn_down_at IS NOT NULL").fetchone()[0]
    assert managed == ["synth_keep"] and torn == 1
    assert [e["schema"] for e in registry.entries()] == ["synth_keep"]
    # the last managed schema takes synth_meta with it in a non-provisioned database
    assert main(["teardown", "--target-url", pg_dsn, "--schema", "synth_keep", "--confirm", "synth_keep"]) == 0
    assert _schemas(pg_dsn) == ["synth_foreign"]
    assert registry.entries() == []


def test_ttl_check_lists_then_enforces_expired_loads(pg_dsn: str, shard_dir: Path, isolated_state: Path, capsys) -> None:
    load_shards(shard_dir, pg_dsn, "synth_ttl_old", ttl_days=0)
    load_shards(shard_dir, pg_dsn, "synth_ttl_new", ttl_days=30)
    assert main(["ttl-check"]) == 1
    out = capsys.readouterr()
    assert "EXPIRED: schema synth_ttl_old" in out.out and "synth_ttl_new" not in out.out
    assert "--enforce" in out.err
    assert {"synth_meta", "synth_ttl_new", "synth_ttl_old"} <= set(_schemas(pg_dsn))
    assert main(["ttl-check", "--enforce"]) == 0
    assert "torn down: schema synth_ttl_old" in capsys.readouterr().out
    assert "synth_ttl_old" not in _schemas(pg_dsn) and "synth_ttl_new" in _schemas(pg_dsn)
    assert main(["ttl-check"]) == 0
    entries = [json.loads(line) for line in audit.audit_log_path().read_text().splitlines()]
    ttl_teardowns = [e for e in entries if e["action"] == "ttl_teardown"]
    assert [e["details"]["schema"] for e in ttl_teardowns] == ["synth_ttl_old"]
    assert audit.verify().intact


def test_ttl_check_exits_2_when_a_database_cannot_be_checked(pg_dsn: str, shard_dir: Path, isolated_state: Path,
                                                             capsys) -> None:
    load_shards(shard_dir, pg_dsn, "synth_ttl_reachable", ttl_days=30)
    registry.record_load(dsn="postgresql://nobody@127.0.0.1:1/nowhere", env=None, schema="synth_far", run_id="r1",
                         expires_at="2000-01-01T00:00:00Z")
    assert main(["ttl-check"]) == 2
    out, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1 and "1 database(s) could not be checked" in err and "cannot connect" in err
    assert "UNREACHABLE" in out and "1 database(s) checked, 1 unreachable" in out
    # not known to be gone (the server did not answer): the entry stays
    assert {e["schema"] for e in registry.entries()} == {"synth_ttl_reachable", "synth_far"}
    assert main(["ttl-check", "--enforce"]) == 2
    out, err = capsys.readouterr()
    assert "[registered runs: r1]" in out and "--forget RUN_ID" in err
    # The operator knows the host is gone for good: forget its run; an unknown run id changes nothing.
    assert main(["ttl-check", "--forget", "no-such-run"]) == 2
    assert "no such run" in capsys.readouterr().err
    assert {e["schema"] for e in registry.entries()} == {"synth_ttl_reachable", "synth_far"}
    assert main(["ttl-check", "--forget", "r1"]) == 0
    out = capsys.readouterr().out
    assert "forgot from the load registry: schema synth_far" in out and "0 unreachable" in out
    assert {e["schema"] for e in registry.entries()} == {"synth_ttl_reachable"}
    from synth_pipeline.loader.audit import audit_log_path

    assert '"action":"ttl_forget"' in audit_log_path().read_text()


def test_ttl_check_prunes_registry_entries_whose_database_or_schema_is_gone(pg_admin_dsn: str, pg_dsn: str,
                                                                             shard_dir: Path, isolated_state: Path,
                                                                             capsys) -> None:
    name, gone_dsn = create_database(pg_admin_dsn, "ttl_gone")
    try:
        load_shards(shard_dir, gone_dsn, "synth_in_dropped_db", ttl_days=30)
    finally:
        drop_database(pg_admin_dsn, name)
    load_shards(shard_dir, pg_dsn, "synth_dropped_by_hand", ttl_days=30)
    load_shards(shard_dir, pg_dsn, "synth_still_here", ttl_days=30)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:  # torn down elsewhere, without this machine's registry
        conn.execute("DROP SCHEMA synth_dropped_by_hand CASCADE")
        conn.execute("DELETE FROM synth_meta.shard_ledger WHERE schema_name = 'synth_dropped_by_hand'")
        conn.execute("DELETE FROM synth_meta.managed_schemas WHERE schema_name = 'synth_dropped_by_hand'")
    assert len(registry.entries()) == 3
    assert main(["ttl-check"]) == 0
    out = capsys.readouterr().out
    assert "pruned from the load registry: schema synth_in_dropped_db" in out and "its database no longer exists" in out
    assert "pruned from the load registry: schema synth_dropped_by_hand" in out and "the schema no longer exists" in out
    assert "2 registry entries pruned" in out and "0 unreachable" in out
    assert [e["schema"] for e in registry.entries()] == ["synth_still_here"]


def test_ttl_finds_loads_in_provisioned_environments(pg_admin_dsn: str, shard_dir: Path, provisioner) -> None:
    provisioner("dev", pg_admin_dsn)
    dev_url = secrets_store.env_database_url("dev")
    load_shards(shard_dir, dev_url, "perf_expiring", ttl_days=30)
    registry_path = registry.registry_path()
    registry_path.unlink()  # found through .secrets/ even without the local registry
    with psycopg.connect(dev_url) as conn:
        conn.execute("UPDATE synth_meta.load_runs SET expires_at = now() - interval '1 minute'")
    from synth_pipeline.loader.ttl import ttl_check

    report = ttl_check(enforce=True)
    assert [(e.env, e.schema) for e in report.torn_down] == [("dev", "perf_expiring")]
    assert "perf_expiring" not in _schemas(dev_url) and database_exists(pg_admin_dsn, "chat_perf_dev")
