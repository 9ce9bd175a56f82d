"""Crash safety: SIGKILL a real loader process in the middle of a shard's COPY, re-run, and get
exactly the manifest's rows (no duplicates, no losses), the killed run marked FAILED."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from synth_pipeline.loader.load import BATCH_ROWS_ENV, THROTTLE_ENV, load_shards
from synth_pipeline.loader.verify import verify_schema
from synth_pipeline.paths import PROJECT_ROOT
from synth_pipeline_tests.loader_fixtures import generate_small

SCHEMA = "synth_crash"
TIMEOUT_S = 60


def _wait(predicate, what: str, timeout_s: float = TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _mid_shard(dsn: str):
    """True once users and one shard are committed and the next shard's COPY has sent data."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('synth_meta.shard_ledger')").fetchone()[0] is None:
            return False
        done = conn.execute("SELECT count(*) FROM synth_meta.shard_ledger WHERE schema_name = %s", (SCHEMA,)).fetchone()[0]
        copying = conn.execute(
            "SELECT count(*) FROM pg_stat_progress_copy WHERE datname = current_database() AND bytes_processed > 0"
        ).fetchone()[0]
    return done >= 2 and copying > 0


def _other_backends(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        ).fetchone()[0]


def test_sigkill_mid_shard_then_rerun_gives_exact_counts(pg_dsn: str, tmp_path: Path, isolated_state: Path) -> None:
    shards = tmp_path / "shards"
    manifest = generate_small(shards, n_shards=3)  # the real generator's shards
    env = {**os.environ, BATCH_ROWS_ENV: "256", THROTTLE_ENV: "0.05", "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "synth_pipeline.cli", "load", "--shards", str(shards), "--target-url", pg_dsn,
         "--schema", SCHEMA, "--jobs", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        _wait(lambda: _mid_shard(pg_dsn) or proc.poll() is not None, "the loader to be mid-shard")
        assert proc.poll() is None, "the loader finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    _wait(lambda: _other_backends(pg_dsn) == 0, "the killed loader's backend to end")

    with psycopg.connect(pg_dsn) as conn:
        committed = [r[0] for r in conn.execute(
            "SELECT partition FROM synth_meta.shard_ledger WHERE schema_name = %s ORDER BY loaded_at", (SCHEMA,))]
        statuses = [r[0] for r in conn.execute("SELECT status FROM synth_meta.load_runs WHERE schema_name = %s", (SCHEMA,))]
        messages_after_kill = conn.execute("SELECT count(*) FROM synth_crash.messages").fetchone()[0]
    assert "users" in committed and 2 <= len(committed) < 4
    assert statuses == ["RUNNING"]
    per_partition = {p.name: {f.table: f.rows for f in p.files} for p in manifest.partitions}
    # the open partition's rows were rolled back with its transaction
    assert messages_after_kill == sum(per_partition[name].get("messages", 0) for name in committed)

    result = load_shards(shards, pg_dsn, SCHEMA)
    assert result.partitions_skipped == sorted(committed)
    assert result.rows == manifest.table_rows
    with psycopg.connect(pg_dsn) as conn:
        runs = dict(conn.execute("SELECT status, errors FROM synth_meta.load_runs WHERE schema_name = %s", (SCHEMA,)).fetchall())
        for table, expected in manifest.table_rows.items():
            assert conn.execute(f"SELECT count(*) FROM synth_crash.{table}").fetchone()[0] == expected, table
    assert set(runs) == {"FAILED", "COMPLETED"}
    assert "interrupted" in json.dumps(runs["FAILED"])
    assert verify_schema(pg_dsn, SCHEMA).ok
