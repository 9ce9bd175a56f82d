"""Which packs in a landing directory are complete, without reading anything from inside them.

A pack `<id>.json` is complete when its mapping manifest `<id>_mapping.json` exists, parses,
and records the sha256 of the pack's current bytes (`pack_sha256`): a file still being copied,
or a pack without its manifest, is not yet complete and is left for a later look. Only the
manifest's `pack_sha256` field is read (a 64-hex digest); the pack itself is only hashed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from synth_pipeline.contracts.files import MANIFEST_SUFFIX, manifest_path_for
from synth_pipeline.errors import SynthError
from synth_pipeline.fsutil import sha256_file

PACK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class LandedPack:
    pack_id: str
    path: Path
    sha256: str


@dataclass(frozen=True)
class LandingScan:
    complete: list[LandedPack]
    waiting: list[str]  # pack ids whose files are not complete yet
    ignored: list[str]  # file names that are not packs (bad ids); names only


def check_pack_id(pack_id: str) -> str:
    """A pack id names files in the landing directory and storage: a plain file name, never a path."""
    if not PACK_ID.match(pack_id):
        raise SynthError(f"pack id {pack_id!r}: use letters, digits, '.', '_' or '-' (at most 64, starting with a "
                         "letter or digit)")
    return pack_id


def _manifest_digest(manifest: Path) -> str | None:
    try:
        value = json.loads(manifest.read_bytes()).get("pack_sha256")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and _SHA256.match(value) else None


def scan_landing(directory: Path) -> LandingScan:
    complete, waiting, ignored = [], [], []
    if not directory.is_dir():
        return LandingScan(complete, waiting, ignored)
    for path in sorted(directory.glob("*.json")):
        name = path.name
        if name.startswith(".") or name.endswith(MANIFEST_SUFFIX):
            continue
        pack_id = name[: -len(".json")]
        if not PACK_ID.match(pack_id):
            ignored.append(name)
            continue
        expected = _manifest_digest(manifest_path_for(path))
        if expected is None:  # no usable manifest yet: nothing to compare the pack with, so no hashing
            waiting.append(pack_id)
            continue
        try:
            actual = sha256_file(path)
        except OSError:
            waiting.append(pack_id)
            continue
        if expected != actual:
            waiting.append(pack_id)
        else:
            complete.append(LandedPack(pack_id, path, actual))
    return LandingScan(complete, waiting, ignored)
