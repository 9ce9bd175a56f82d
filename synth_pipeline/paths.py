"""Where the project's files live: the repository root, specs/, and the local state dir .synth/."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
SPECS_DIR = PROJECT_ROOT / "specs"
MAPPINGS_DIR = SPECS_DIR / "mappings"
METRICS_PACK_SCHEMA = SPECS_DIR / "metrics-pack.schema.json"
PACK_MANIFEST_SCHEMA = SPECS_DIR / "pack-manifest.schema.json"
DISTRIBUTION_SPEC_SCHEMA = SPECS_DIR / "distribution-spec.schema.json"
SHARD_MANIFEST_SCHEMA = SPECS_DIR / "shard-manifest.schema.json"
REFERENCE_SPEC = SPECS_DIR / "distribution-spec.json"


def state_dir() -> Path:
    """Local, git-ignored state (embedded Postgres, demo artifacts). Override with SYNTH_STATE_DIR."""
    return Path(os.environ.get("SYNTH_STATE_DIR", PROJECT_ROOT / ".synth")).resolve()


def mapping_path(name_or_path: str | os.PathLike[str]) -> Path:
    """Resolve `reference`/`prisma` to specs/mappings/<name>.yaml; anything else is a file path."""
    text = str(name_or_path)
    candidate = MAPPINGS_DIR / f"{text}.yaml"
    if os.sep not in text and not text.endswith((".yaml", ".yml")) and candidate.exists():
        return candidate
    return Path(text)
