"""Reading the JSON artifacts that cross stage boundaries: metrics packs and distribution specs.

Every failure is one SynthError line naming the file and the JSON path and the rule broken, never
the offending value (a pack that fails its schema may be failing because it carries personal data).
Validation is the artifact's JSON Schema in specs/ first, then its pydantic model (finer rules).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import jsonschema
from pydantic import ValidationError

from synth_pipeline.contracts.distribution_spec import DistributionSpec
from synth_pipeline.contracts.metrics_pack import MetricsPack
from synth_pipeline.errors import SynthError
from synth_pipeline.fsutil import atomic_write_bytes
from synth_pipeline.paths import DISTRIBUTION_SPEC_SCHEMA, METRICS_PACK_SCHEMA, PROJECT_ROOT


def _json_path(parts) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


# CPython's default limit for converting an integer literal (sys.get_int_max_str_digits). No count
# has more than 19 digits; a longer literal is refused with a clear line, not an internal error.
MAX_INTEGER_DIGITS = 4300


class NumberNotAccepted(ValueError):
    """Raised by the strict number hooks; `reason` names the rule broken, never the literal."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def reject_constant(name: str) -> float:
    raise NumberNotAccepted(f"not valid JSON ({name} is not a JSON number)")


def parse_int(literal: str) -> int:
    digits = len(literal.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        raise NumberNotAccepted(f"an integer literal has {digits} digits (at most {MAX_INTEGER_DIGITS})")
    try:
        return int(literal)
    except ValueError:  # an interpreter configured with a lower sys.set_int_max_str_digits
        raise NumberNotAccepted(f"an integer literal has {digits} digits (more than this interpreter converts)") from None


def parse_finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # 1e999 would silently read as Infinity
        raise NumberNotAccepted("not valid JSON (a number literal beyond the range of a double, read as Infinity)")
    return value


# The strict number hooks for json.loads: NaN, Infinity and -Infinity are refused (they are not
# JSON), as are number literals that overflow to infinity and integer literals longer than
# MAX_INTEGER_DIGITS. Each raises NumberNotAccepted.
STRICT_NUMBERS = {"parse_constant": reject_constant, "parse_int": parse_int, "parse_float": parse_finite_float}


def _read_document(path: str | Path, schema_path: Path, what: str) -> tuple[dict, bytes]:
    """`read_json_document`, and the exact bytes the document was parsed from."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        # utf-8-sig, as the privacy gate reads it: a pack with a byte order mark is the same pack.
        text = raw.decode("utf-8-sig")
    except OSError as exc:
        raise SynthError(f"{path}: cannot read the {what} ({exc.strerror or type(exc).__name__})") from None
    except UnicodeDecodeError:
        raise SynthError(f"{path}: the {what} is not UTF-8 text") from None
    try:
        document = json.loads(text, **STRICT_NUMBERS)
    except ValueError as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise SynthError(f"{path}: the {what} is not valid JSON{where}") from None
    schema = json.loads(schema_path.read_text())
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(document))
    if error is not None:
        raise SynthError(
            f"{path}: not a valid {what}: {_json_path(error.absolute_path)} breaks the '{error.validator}' rule of "
            f"{schema_path.relative_to(PROJECT_ROOT) if schema_path.is_relative_to(PROJECT_ROOT) else schema_path}"
        )
    return document, raw


def read_json_document(path: str | Path, schema_path: Path, what: str) -> dict:
    """Read and schema-validate a JSON artifact; every failure is one line naming file and path.

    Messages name the JSON path and the rule broken, never the offending value (a pack that
    fails its schema may be failing because it carries personal data).
    """
    return _read_document(path, schema_path, what)[0]


def _validate_model(path: str | Path, document: dict, model, what: str):
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SynthError(f"{path}: not a valid {what}: {_json_path(first['loc'])}: {first['type']}") from None


def load_model(path: str | Path, model, schema_path: Path, what: str):
    """`read_json_document`, then the pydantic model (whose finer rules the schema may not carry)."""
    return _validate_model(path, read_json_document(path, schema_path, what), model, what)


def load_pack(path: str | Path) -> tuple[MetricsPack, str]:
    """The pack and the sha256 of the bytes it was parsed from (the file is read once)."""
    document, raw = _read_document(path, METRICS_PACK_SCHEMA, "metrics pack")
    return _validate_model(path, document, MetricsPack, "metrics pack"), hashlib.sha256(raw).hexdigest()


def load_spec(path: str | Path) -> DistributionSpec:
    return load_model(path, DistributionSpec, DISTRIBUTION_SPEC_SCHEMA, "distribution spec")


# --- the pack and its mapping manifest on disk ------------------------------------------------

MANIFEST_SUFFIX = "_mapping.json"


def manifest_path_for(pack_path: str | os.PathLike[str]) -> Path:
    """PACK.json -> PACK_mapping.json beside it."""
    pack = Path(pack_path)
    return pack.with_name(pack.stem + MANIFEST_SUFFIX)


def write_pack_pair(dest: str | os.PathLike[str], pack_bytes: bytes, manifest_bytes: bytes | None) -> Path | None:
    """Write the manifest beside `dest` first and the pack last (its presence means both are
    complete), each atomically; `manifest_bytes` None removes a stale manifest beside `dest`.
    If the pack cannot be written the manifest just written is removed (no manifest without its
    pack) and the OSError propagates. Returns the manifest path, None when there is none."""
    dest = Path(dest)
    manifest = manifest_path_for(dest)
    if manifest_bytes is None:
        manifest.unlink(missing_ok=True)
    else:
        atomic_write_bytes(manifest, manifest_bytes)
    try:
        atomic_write_bytes(dest, pack_bytes)
    except OSError:
        if manifest_bytes is not None:
            manifest.unlink(missing_ok=True)
        raise
    return manifest if manifest_bytes is not None else None
