"""A DAGSTER_HOME for local runs (`synth-pipeline ui`, tests): dagster.yaml + PostgreSQL storage.

The instance config is the repository's dagster.yaml (storage from DAGSTER_PG_URL); the storage
database `dagster` is created on the embedded server (or SYNTH_DATABASE_URL's server).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from synth_pipeline.infra.dsn import dagster_storage_url, ensure_database
from synth_pipeline.paths import PROJECT_ROOT, state_dir

DAGSTER_STORAGE_DATABASE = "dagster"


def prepare_dagster_home(admin_dsn: str, home: Path | None = None, database: str = DAGSTER_STORAGE_DATABASE) -> dict[str, str]:
    """Create the home directory and storage database; return the environment to run Dagster with."""
    home = (home or state_dir() / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    storage_dsn = ensure_database(admin_dsn, database)
    env = dict(os.environ)
    env.update({"DAGSTER_HOME": str(home), "DAGSTER_PG_URL": dagster_storage_url(storage_dsn)})
    return env
