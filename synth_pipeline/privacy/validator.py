"""The privacy gate over one JSON document: allowlist first, detectors second.

1. **Schema** (`schema`): the document is validated against its JSON Schema
   (specs/metrics-pack.schema.json, or specs/pack-manifest.schema.json for a mapping manifest,
   chosen by `kind`, else by the `_mapping.json` file suffix; an unknown kind fails the pack
   schema's `kind` constant). Every object there is closed and every field required, so an
   unknown key, a missing key, a wrong type, a token that is not 16 lowercase hex or a malformed
   timestamp is a finding.
2. **Free strings** (`free_string`): any string anywhere (under unknown keys too) that is not one
   of the schema's enum or constant values and matches none of its patterns.
3. **Detectors** (`detectors.py`): every key and string value, and identifier-shaped numbers:
   at a position the schema declares numeric (a count or measure) only a 13-19 digit Luhn-valid
   integer (a card); anywhere else phone, card and SSN shapes too.

Findings carry the JSON path and the rule, never the value. Keys outside the schemas'
vocabulary are not printed either: the path shows them by position (`$.metrics.<key #3>`).
Duplicate keys, which a JSON parser silently drops, are findings, and the dropped values are
scanned too: the gate judges the bytes that leave production, not a parser's view of them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from synth_pipeline.contracts.files import (  # noqa: F401 - MAX_INTEGER_DIGITS and manifest_path_for re-exported
    MANIFEST_SUFFIX,
    MAX_INTEGER_DIGITS,
    STRICT_NUMBERS,
    NumberNotAccepted,
    manifest_path_for,
)
from synth_pipeline.contracts.metrics_pack import PACK_KIND
from synth_pipeline.contracts.pack_manifest import MANIFEST_KIND
from synth_pipeline.errors import SynthError
from synth_pipeline.paths import METRICS_PACK_SCHEMA, PACK_MANIFEST_SCHEMA
from synth_pipeline.privacy.detectors import scan_number, scan_text
from synth_pipeline.privacy.findings import Finding

MAX_FILE_BYTES = 64 * 1024 * 1024  # a pack is a few hundred kB; anything this big is not a pack
UNKNOWN_KEY = "unknown key (not in the schema allowlist)"
SCHEMA_FILES = {PACK_KIND: METRICS_PACK_SCHEMA, MANIFEST_KIND: PACK_MANIFEST_SCHEMA}

_PATTERN_NAMES = {
    r"^[0-9a-f]{16}$": "not a token of 16 lowercase hex characters",
    r"^[0-9a-f]{64}$": "not a sha256 of 64 lowercase hex characters",
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$": "not an ISO UTC timestamp (YYYY-MM-DDTHH:MM:SSZ)",
    r"^[0-9]+\.[0-9]+\.[0-9]+$": "not a version of the form X.Y.Z",
    r"^[a-z][a-z0-9_-]{0,31}$": "not a mapping name (lowercase, at most 32 characters)",
}
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null"}


# --- schemas and their vocabulary -------------------------------------------------------------

def _walk_schema(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk_schema(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_schema(value)


@lru_cache(maxsize=None)
def load_schema(kind: str) -> dict:
    return json.loads(SCHEMA_FILES[kind].read_text())


@lru_cache(maxsize=None)
def _validator(kind: str) -> jsonschema.protocols.Validator:
    schema = load_schema(kind)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@lru_cache(maxsize=None)
def schema_vocabulary() -> frozenset[str]:
    """Every property name of every schema the gate knows: the keys that are safe to print."""
    names: set[str] = set()
    for kind in SCHEMA_FILES:
        for node in _walk_schema(load_schema(kind)):
            if isinstance(node.get("properties"), dict):
                names.update(node["properties"])
    return frozenset(names)


@lru_cache(maxsize=None)
def _allowed_strings(kind: str) -> tuple[frozenset[str], tuple[re.Pattern, ...]]:
    constants: set[str] = set()
    patterns: set[str] = set()
    for node in _walk_schema(load_schema(kind)):
        if isinstance(node.get("const"), str):
            constants.add(node["const"])
        if isinstance(node.get("enum"), list):
            constants.update(v for v in node["enum"] if isinstance(v, str))
        if isinstance(node.get("pattern"), str):
            patterns.add(node["pattern"])
    return frozenset(constants), tuple(re.compile(p) for p in sorted(patterns))


def document_kind(doc: Any, source_name: str) -> str:
    """Which schema judges `doc`: its `kind`, else the file suffix; the pack schema by default
    (whose `kind` constant then reports an unknown kind)."""
    kind = doc.get("kind") if isinstance(doc, dict) else None
    if kind in SCHEMA_FILES:
        return kind
    return MANIFEST_KIND if source_name.endswith(MANIFEST_SUFFIX) else PACK_KIND


# --- parsing: duplicate keys are kept, not dropped --------------------------------------------

class _Object(dict):
    """A JSON object that remembers the pairs a plain dict would have dropped."""

    dropped: list[tuple[str, Any]]


def _object_hook(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object()
    obj.dropped = []
    for key, value in pairs:
        if key in obj:
            obj.dropped.append((key, obj[key]))
        obj[key] = value
    return obj


class UnreadableDocument(SynthError):
    """A file the gate cannot judge (exit 2): `file` and `reason`, never the file's content."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = " ".join(reason.split())


def parse_json_bytes(data: bytes, source_name: str) -> Any:
    """Parse UTF-8 JSON; one-line UnreadableDocument naming the file (never its content) otherwise.
    NaN, Infinity and -Infinity are refused (they are not JSON), as are number literals that
    overflow to infinity and integer literals longer than MAX_INTEGER_DIGITS."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableDocument(source_name, "not UTF-8 text; expected a JSON metrics pack or mapping manifest") from None
    try:
        return json.loads(text, object_pairs_hook=_object_hook, **STRICT_NUMBERS)
    except json.JSONDecodeError as exc:
        raise UnreadableDocument(
            source_name,
            f"not valid JSON (line {exc.lineno}, column {exc.colno}); expected a metrics pack or mapping manifest",
        ) from None
    except NumberNotAccepted as exc:
        raise UnreadableDocument(source_name, f"{exc.reason}; expected a metrics pack or mapping manifest") from None
    except RecursionError:
        raise UnreadableDocument(source_name, "JSON nested too deeply to be a metrics pack") from None


def read_document(path: str | os.PathLike[str]) -> tuple[Any, bytes]:
    """The parsed document and the exact bytes it came from."""
    name = str(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise UnreadableDocument(name, f"{size} bytes is too large for a metrics pack (limit {MAX_FILE_BYTES})")
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise UnreadableDocument(name, "is a directory; pass the pack's JSON file") from None
    except OSError as exc:
        raise UnreadableDocument(name, f"cannot read ({exc.strerror}); pass an existing JSON file") from None
    return parse_json_bytes(data, name), data


# --- paths ------------------------------------------------------------------------------------

def render_key(key: str, index: int) -> str:
    return f".{key}" if key in schema_vocabulary() else f".<key #{index}>"


def _key_index(obj: dict, key: str) -> int:
    for index, candidate in enumerate(obj):
        if candidate == key:
            return index
    return -1


def render_path(doc: Any, parts) -> str:
    """`$.metrics.heavy_rooms.rooms[3].token` from jsonschema's path parts."""
    out = "$"
    node = doc
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
        else:
            out += render_key(part, _key_index(node, part) if isinstance(node, dict) else -1)
            node = node.get(part) if isinstance(node, dict) else None
    return out


_PATH_PART = re.compile(r"\[(\d+)\]|\.([^.\[]+)")


def path_sort_key(path: str) -> tuple:
    return tuple((0, int(i), "") if i else (1, 0, k) for i, k in _PATH_PART.findall(path))


# --- 1. schema --------------------------------------------------------------------------------

def _error_message(error: jsonschema.ValidationError) -> str:
    keyword, limit, instance = error.validator, error.validator_value, error.instance
    if keyword == "type":
        expected = limit if isinstance(limit, str) else " or ".join(limit)
        return f"expected {expected}, found {_JSON_TYPES.get(type(instance), 'another type')}"
    if keyword == "enum":
        return "not one of the allowed values: " + ", ".join(map(str, limit))
    if keyword == "const":
        return f"must be {json.dumps(limit)}"
    if keyword == "pattern":
        return _PATTERN_NAMES.get(limit, "does not match the required pattern")
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return {"minimum": "below the minimum", "maximum": "above the maximum",
                "exclusiveMinimum": "must be greater than", "exclusiveMaximum": "must be less than"}[keyword] + f" {limit}"
    if keyword in ("minItems", "maxItems"):
        return f"{'fewer' if keyword == 'minItems' else 'more'} items than allowed ({limit})"
    return f"violates the schema rule '{keyword}'"


def _best_branch(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError] | None:
    """For anyOf/oneOf (nullable sections): the errors of the branch whose type fits the value."""
    branches: dict[int, list[jsonschema.ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    fitting = [
        errors for errors in branches.values()
        if not any(e.validator == "type" and not e.relative_path for e in errors)
    ]
    return fitting[0] if len(fitting) == 1 else None


def _findings_for_error(error: jsonschema.ValidationError, doc: Any, file: str) -> Iterator[Finding]:
    path = render_path(doc, error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = error.schema.get("properties", {})
        for index, key in enumerate(error.instance):
            if key not in allowed:
                yield Finding(file, path + render_key(key, index), "schema", UNKNOWN_KEY)
        return
    if error.validator == "required" and isinstance(error.instance, dict):
        for key in error.validator_value:
            if key not in error.instance:
                yield Finding(file, path, "schema", f"missing required key '{key}'")
        return
    if error.validator in ("anyOf", "oneOf"):
        branch = _best_branch(error)
        if branch is not None:
            for sub in branch:
                yield from _findings_for_error(sub, doc, file)
            return
        yield Finding(file, path, "schema", "matches none of the allowed forms")
        return
    yield Finding(file, path, "schema", _error_message(error))


def schema_findings(doc: Any, kind: str, file: str) -> list[Finding]:
    out: list[Finding] = []
    for error in _validator(kind).iter_errors(doc):
        out.extend(_findings_for_error(error, doc, file))
    return out


# --- 2 and 3. free strings and detectors ------------------------------------------------------

def _resolve(node: Any, root: dict) -> list[dict]:
    """The concrete schemas `node` stands for: `$ref` followed, anyOf/oneOf branches flattened."""
    if not isinstance(node, dict):
        return []
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        return _resolve(target, root)
    branches = node.get("anyOf") or node.get("oneOf")
    if isinstance(branches, list):
        return [schema for branch in branches for schema in _resolve(branch, root)]
    return [node]


def _types(schema: dict) -> set[str]:
    declared = schema.get("type")
    return {declared} if isinstance(declared, str) else set(declared or ())


def _children(schemas: list[dict], key: str | None, root: dict) -> list[dict]:
    """The schemas of an object's property `key`, or of an array's items (`key` None)."""
    out: list[dict] = []
    for schema in schemas:
        if key is None:
            if "array" in _types(schema):
                out += _resolve(schema.get("items"), root)
        elif "object" in _types(schema):
            properties = schema.get("properties") or {}
            out += _resolve(properties[key] if key in properties else schema.get("additionalProperties"), root)
        # a container where the schema wants a scalar: its contents stand at no schema position
    return out


def is_measure(schemas: list[dict]) -> bool:
    """True when the schema declares the position numeric. Every numeric field of the pack and
    manifest schemas is a count or a measure (identifiers leave production only as 16-hex
    tokens, which are strings); `test_privacy_validator` pins the list of numeric fields."""
    return any(_types(schema) & {"integer", "number"} for schema in schemas)


def _walk(node: Any, path: str, schemas: list[dict], root: dict) -> Iterator[tuple[str, str, Any, bool]]:
    """(path, role, item, measure) for every key, scalar value and duplicate key; role is 'key',
    'value' or 'duplicate', measure whether the schema declares the value's position numeric."""
    if isinstance(node, dict):
        for index, (key, value) in enumerate(node.items()):
            child = path + render_key(key, index)
            yield child, "key", key, False
            yield from _walk(value, child, _children(schemas, key, root), root)
        for key, value in getattr(node, "dropped", ()):
            child = path + render_key(key, _key_index(node, key))
            yield child, "duplicate", key, False
            yield from _walk(value, child, _children(schemas, key, root), root)
    elif isinstance(node, list):
        items = _children(schemas, None, root)
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]", items, root)
    else:
        yield path, "value", node, is_measure(schemas)


def content_findings(doc: Any, kind: str, file: str, skip_free_string: set[str]) -> list[Finding]:
    constants, patterns = _allowed_strings(kind)
    root = load_schema(kind)
    out: list[Finding] = []
    for path, role, item, measure in _walk(doc, "$", _resolve(root, root), root):
        if role == "duplicate":
            out.append(Finding(file, path, "schema", "duplicate key (a parser would silently drop one value)"))
        if isinstance(item, str):
            if role == "value" and path not in skip_free_string and item not in constants and not any(
                p.match(item) for p in patterns
            ):
                out.append(Finding(file, path, "free_string", "string is not an allowed enum value, token or timestamp"))
            noun = "key" if role != "value" else "value"
            out.extend(Finding(file, path, d.name, f"{noun} looks like {d.what}") for d in scan_text(item))
        elif isinstance(item, (int, float)):
            out.extend(
                Finding(file, path, d.name, f"number has the shape of {d.what}") for d in scan_number(item, measure=measure)
            )
    return out


# --- entry points -----------------------------------------------------------------------------

def validate_document(doc: Any, source_name: str) -> list[Finding]:
    """All findings for one parsed document (pack or manifest), sorted by path then rule."""
    kind = document_kind(doc, source_name)
    found = schema_findings(doc, kind, source_name)
    # A value the schema already judged (wrong pattern, not in the enum) needs no second finding;
    # a value under an unknown key does: the schema only saw the key.
    judged = {f.json_path for f in found if f.message != UNKNOWN_KEY}
    found += content_findings(doc, kind, source_name, skip_free_string=judged)
    unique = dict.fromkeys(found)  # same path, rule and message once
    return sorted(unique, key=lambda f: (path_sort_key(f.json_path), f.detector, f.message))


def validate_pack_file(path: str | os.PathLike[str]) -> list[Finding]:
    """Findings for one file; UnreadableDocument (a SynthError, exit 2) when it is unreadable or
    not JSON."""
    doc, _ = read_document(path)
    return validate_document(doc, str(path))
