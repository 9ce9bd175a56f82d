"""SYNTH_ENV alone chooses band, shard partitions, load schema and the provisioned perf target.

The shard partitions are fixed when the code location loads, so each environment is loaded in its
own interpreter, as a deployment would (no database is contacted: the perf target's DSN is read
from the environment's secrets file).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import json
from synth_pipeline.definitions import defs
from synth_pipeline.defs.generation.assets import GenerationConfig
from synth_pipeline.defs.loading.assets import LoadConfig
from synth_pipeline.defs.loading.resources import PerfTarget

job = defs.resolve_job_def("generate_shards_job")
keys = job.partitions_def.get_partition_keys()
print(json.dumps({"partitions": len(keys), "first": keys[:2], "band": GenerationConfig().band,
                  "schema": LoadConfig().schema_name, "perf_dsn": PerfTarget().dsn()}))
"""


def _probe(env: dict[str, str]) -> dict:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("SYNTH_ENV", "SYNTH_GENERATION_SHARDS", "SYNTH_PERF_ENV", "SYNTH_PERF_URL")}
    result = subprocess.run([sys.executable, "-c", PROBE], env={**clean, **env}, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name,shards", [("staging", 100), ("perf", 300)])
def test_one_setting_chooses_band_shards_schema_and_perf_target(tmp_path: Path, name: str, shards: int) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    provisioned_url = f"postgresql://synth_{name}_owner@perf-{name}.invalid/chat_perf_{name}"
    (secrets / f".env.{name}").write_text(f"SYNTH_ENV={name}\nDATABASE_URL={provisioned_url}\n")
    found = _probe({"SYNTH_ENV": name, "SYNTH_SECRETS_DIR": str(secrets),
                    "SYNTH_DATABASE_URL": "postgresql://nobody@fallback.invalid/postgres"})
    assert found["partitions"] == shards + 1 and found["first"] == ["users", "shard-00000"]
    assert found["band"] == name and found["schema"] == f"synth_{name}"
    assert found["perf_dsn"] == provisioned_url, "the provisioned environment's secrets file, not a fallback"


def test_an_unknown_environment_is_refused_naming_the_setting(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if k != "SYNTH_ENV"}
    result = subprocess.run([sys.executable, "-c", "import synth_pipeline.definitions"],
                            env={**clean, "SYNTH_ENV": "prod"}, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "SYNTH_ENV='prod': choose one of dev, staging, perf" in result.stderr
