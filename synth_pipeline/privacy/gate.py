"""The gate between a landed pack and everything downstream of it.

`validate_pack_with_manifest` judges a pack together with the mapping manifest beside it
(`<stem>_mapping.json`); a missing manifest is a finding, because a pack without its provenance
record must not pass. `promote_validated_pack` reads both files once, judges exactly those
bytes, and only when nothing is found writes the same bytes to the validated location
(atomically, manifest beside it): what calibration reads is byte for byte what the gate judged,
even if the landing file changes afterwards.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synth_pipeline.contracts.files import manifest_path_for, write_pack_pair
from synth_pipeline.privacy.findings import Finding
from synth_pipeline.privacy.validator import read_document, validate_document


@dataclass
class GateOutcome:
    findings: list[Finding] = field(default_factory=list)
    pack_bytes: bytes = b""
    pack_document: Any = None  # parsed from pack_bytes by the gate (publishable only once passed)
    manifest_bytes: bytes | None = None
    pack_path: Path | None = None  # the validated copy; None until promoted
    manifest_path: Path | None = None

    @property
    def passed(self) -> bool:
        return not self.findings

    @property
    def pack_sha256(self) -> str:
        return hashlib.sha256(self.pack_bytes).hexdigest()


def judge_pack(pack_path: str | os.PathLike[str]) -> GateOutcome:
    """Findings for the pack and its manifest, with the bytes judged. SynthError when a file is
    unreadable or not JSON."""
    pack_doc, pack_bytes = read_document(pack_path)
    outcome = GateOutcome(findings=validate_document(pack_doc, str(pack_path)), pack_bytes=pack_bytes,
                          pack_document=pack_doc)
    manifest = manifest_path_for(pack_path)
    if manifest.exists():
        manifest_doc, outcome.manifest_bytes = read_document(manifest)
        outcome.findings += validate_document(manifest_doc, str(manifest))
    else:
        outcome.findings.append(Finding(str(manifest), "$", "missing_manifest", "the mapping manifest is missing beside the pack"))
    return outcome


def validate_pack_with_manifest(pack_path: str | os.PathLike[str]) -> list[Finding]:
    return judge_pack(pack_path).findings


def promote_validated_pack(pack_path: str | os.PathLike[str], dest_pack_path: str | os.PathLike[str]) -> GateOutcome:
    """Judge the pack and its manifest; when clean, copy the judged bytes to `dest_pack_path`
    and `<dest stem>_mapping.json`. A refused pack writes nothing."""
    outcome = judge_pack(pack_path)
    if outcome.passed:
        dest = Path(dest_pack_path)
        outcome.manifest_path = write_pack_pair(dest, outcome.pack_bytes, outcome.manifest_bytes)
        outcome.pack_path = dest
    return outcome
