"""End to end with the real generator: its shards load under both mappings and verify clean
(counts, keys, participants, reads after messages, synthetic identities)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synth_pipeline.cli import main
from synth_pipeline_tests.loader_fixtures import generated_dir  # noqa: F401


@pytest.mark.parametrize("mapping", ["reference", "prisma"])
def test_generated_shards_load_and_verify(pg_dsn: str, generated_dir: Path, isolated_state: Path, mapping: str, capsys) -> None:
    schema = f"synth_gen_{mapping}"
    assert main(["load", "--shards", str(generated_dir), "--target-url", pg_dsn, "--schema", schema,
                 "--mapping", mapping, "--verify"]) == 0
    out = capsys.readouterr().out
    manifest = json.loads((generated_dir / "manifest.json").read_text())
    assert f"{sum(manifest['table_rows'].values())} rows into schema {schema}" in out
    assert "FAIL" not in out
    assert main(["verify", "--target-url", pg_dsn, "--schema", schema, "--full", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["ok"] and checks["rows.messages"]["observed"] == 12_000
    assert checks["identity.real_email_count"]["observed"] == 0
    assert "enforced by" not in checks["fk.message_reads.message_id"]["detail"]  # --full scanned it
