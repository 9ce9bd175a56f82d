"""Baselines in a provisioned perf database: measured as the read-only role, indexes as the owner.

Uses the loader's own fixtures: a real `provision` (torn down afterwards), the real generator's
small shard set, a real load.
"""

from __future__ import annotations

import psycopg
import pytest

from synth_pipeline.loader.load import load_shards
from synth_pipeline.loader.secrets_store import read_env_file
from synth_pipeline.reports.baselines import BaselineOptions, run_baselines
from synth_pipeline_tests.loader_fixtures import generated_dir  # noqa: F401 (fixture)

ENV = "staging"


def test_provisioned_roles_split_measurement_and_index_changes(pg_admin_dsn, provisioner, generated_dir, tmp_path):  # noqa: F811
    result = provisioner(ENV, pg_admin_dsn)
    secrets = read_env_file(ENV)
    owner_url, readonly_url = secrets["DATABASE_URL_OWNER"], secrets["DATABASE_URL_READONLY"]
    load_shards(generated_dir, secrets["DATABASE_URL"], "synth_baselines")

    # The read-only role cannot change indexes: that is why the owner role does it.
    with psycopg.connect(readonly_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute('CREATE INDEX probe ON synth_baselines.messages (created_at)')

    run = run_baselines(owner_url, "synth_baselines", out_dir=tmp_path / "out",
                        options=BaselineOptions(runs=1, write_rows=500, write_repeats=1))
    assert f"as {result.roles.readonly} (read-only)" in run.roles and f"as {result.roles.owner} (owner)" in run.roles
    page = run.case("conversation_latest_page[heavy_room]")
    assert page.before and page.after and page.before.has_sort and not page.after.has_sort
    assert all(i.size_bytes > 0 for i in run.indexes) and run.write_costs
    assert "provisioned roles of staging" in run.markdown_path.read_text()
