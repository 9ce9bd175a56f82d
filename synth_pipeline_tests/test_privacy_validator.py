"""The gate over whole documents: schema allowlist first (paths, never values), free strings,
detectors on keys and values, duplicate keys, unreadable files, and the validated copy."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from synth_pipeline.errors import SynthError
from synth_pipeline.fsutil import sha256_file
from synth_pipeline.privacy.gate import promote_validated_pack, validate_pack_with_manifest
from synth_pipeline.contracts.metrics_pack import PACK_KIND
from synth_pipeline.privacy.validator import (
    SCHEMA_FILES, UnreadableDocument, _resolve, _walk, is_measure, load_schema, validate_document,
    validate_pack_file,
)
from synth_pipeline_tests.privacy_fixtures import PLANTED, big_pack, planted, valid_manifest, valid_pack, write_pack


@pytest.fixture(scope="module")
def pack() -> dict:
    return valid_pack()


def where(findings) -> set[tuple[str, str]]:
    return {(f.json_path, f.detector) for f in findings}


def assert_no_value_leaks(findings, *values: str) -> None:
    text = "\n".join(f.line() for f in findings)
    for value in values:
        assert value not in text


def test_valid_documents_are_clean(pack: dict) -> None:
    assert validate_document(pack, "pack.json") == []
    assert validate_document(valid_manifest(), "pack_mapping.json") == []


def test_optional_parts_may_be_null(pack: dict) -> None:
    doc = copy.deepcopy(pack)
    for part in ("device", "primary_device", "attachments", "reads", "inter_arrival_seconds", "participants_per_group"):
        doc["metrics"][part] = None
    doc["metrics"]["heavy_rooms"]["sizes"] = None
    doc["totals"]["attachments"] = doc["totals"]["reads"] = None
    assert validate_document(doc, "pack.json") == []


def test_schema_findings_name_the_path_never_the_value(pack: dict) -> None:
    doc = copy.deepcopy(pack)
    doc["metrics"]["heavy_rooms"]["rooms"][3]["token"] = "ABCDEF0123456789"  # upper case
    doc["metrics"]["heavy_rooms"]["rooms"][4]["token"] = "f00d"  # too short
    doc["window"]["start"] = "2026-11-25"
    doc["metrics"]["reads"]["latency_seconds"]["histogram"]["counts"][0] = -7
    doc["metrics"]["device"]["web"] = "lots"
    doc["metrics"]["message_length"]["unit"] = "furlongs"
    del doc["totals"]["users"]
    findings = validate_document(doc, "pack.json")
    assert where(findings) == {
        ("$.metrics.heavy_rooms.rooms[3].token", "schema"),
        ("$.metrics.heavy_rooms.rooms[4].token", "schema"),
        ("$.window.start", "schema"),
        ("$.metrics.reads.latency_seconds.histogram.counts[0]", "schema"),
        ("$.metrics.device.web", "schema"),
        ("$.metrics.message_length.unit", "schema"),
        ("$.totals", "schema"),
    }
    messages = {f.json_path: f.message for f in findings}
    assert messages["$.metrics.heavy_rooms.rooms[3].token"] == "not a token of 16 lowercase hex characters"
    assert messages["$.totals"] == "missing required key 'users'"
    assert messages["$.metrics.device.web"] == "expected integer, found string"
    assert_no_value_leaks(findings, "ABCDEF0123456789", "f00d", "2026-11-25", "-7", "lots", "furlongs")


def test_unknown_keys_are_shown_by_position(pack: dict) -> None:
    doc = planted(pack)
    findings = validate_document(doc, "pack.json")
    found = where(findings)
    rooms = "$.metrics.heavy_rooms.rooms"
    owner_index = list(doc["metrics"]["heavy_rooms"]["rooms"][1]).index("owner")
    assert (f"{rooms}[0].token", "schema") in found and (f"{rooms}[0].token", "email") in found
    assert {(f"{rooms}[1].<key #{owner_index}>", det) for det in ("schema", "free_string", "person_name")} <= found
    notes = f"$.<key #{list(doc).index('notes')}>"
    card = f"$.<key #{list(doc).index(PLANTED['card'])}>"
    assert {(notes, "schema"), (notes, "free_string"), (notes, "phone"), (card, "schema"), (card, "payment_card")} <= found
    assert_no_value_leaks(findings, *PLANTED.values(), "owner", "notes")


def test_unknown_kind_and_manifest_selection(pack: dict) -> None:
    doc = copy.deepcopy(pack)
    doc["kind"] = "something-else"
    assert ("$.kind", "schema") in where(validate_document(doc, "pack.json"))
    manifest = valid_manifest()
    del manifest["kind"]  # no kind: the _mapping.json suffix picks the manifest schema
    assert where(validate_document(manifest, "x_mapping.json")) == {("$", "schema")}
    manifest = valid_manifest()
    manifest["mapping"]["name"] = "Jane Doe"
    manifest["tool_version"] = "10.4.1.7"
    found = where(validate_document(manifest, "anything.json"))  # kind picks the manifest schema
    assert {("$.mapping.name", "schema"), ("$.mapping.name", "person_name"), ("$.tool_version", "schema"),
            ("$.tool_version", "ipv4")} <= found


def test_big_counts_and_sizes_at_measure_positions_pass(pack: dict) -> None:
    doc = big_pack()
    video = doc["metrics"]["attachments"]["size_bytes"]["video"]
    assert video["percentiles"]["max"] == 26_843_545_600 and max(video["histogram"]["edges"]) >= 26_843_545_600
    eleven_digits = [e for e in video["histogram"]["edges"] if len(str(int(e))) == 11]
    assert eleven_digits  # phone-shaped numbers are really there
    assert validate_document(doc, "pack.json") == []
    doc["totals"]["users"] = 14155550132  # E.164 shape, but a count position
    doc["metrics"]["heavy_rooms"]["rooms"][0]["messages"] = 4155550132  # bare NANP shape
    doc["metrics"]["message_length"]["histogram"]["counts"][0] = 123_456_789  # SSN shape
    assert validate_document(doc, "pack.json") == []


def test_card_numbers_at_measure_positions_are_findings(pack: dict) -> None:
    doc = copy.deepcopy(pack)
    doc["totals"]["messages"] = 4539148803436467  # Luhn-valid 16 digits: no count is that big
    doc["totals"]["reads"] = 378282246310005  # Luhn-valid 15 digits (Amex)
    doc["totals"]["users"] = 4222222222222  # Luhn-valid 13 digits (Visa)
    doc["metrics"]["message_length"]["mean"] = 4111111111111111.0
    edges = doc["metrics"]["attachments"]["size_bytes"]["video"]["histogram"]["edges"]
    edges[-1] = 6011111111111117
    found = where(validate_document(doc, "pack.json"))
    assert found == {
        ("$.totals.messages", "payment_card"),
        ("$.totals.reads", "payment_card"),
        ("$.totals.users", "payment_card"),
        ("$.metrics.message_length.mean", "payment_card"),
        (f"$.metrics.attachments.size_bytes.video.histogram.edges[{len(edges) - 1}]", "payment_card"),
    }


def test_identifier_shaped_numbers_outside_measure_positions(pack: dict) -> None:
    doc = copy.deepcopy(pack)
    doc["metrics"]["message_length"]["phone"] = 14155550132  # unknown key
    doc["metrics"]["heavy_rooms"]["rooms"][0]["token"] = 4155550132  # a number where a token belongs
    doc["window"]["start"] = 123_456_789  # where a timestamp belongs
    doc["totals"]["extra"] = [378282246310005]  # inside an array under an unknown key
    doc["parts"]["reads"] = 14155550133  # where a boolean belongs
    findings = validate_document(doc, "pack.json")
    found = where(findings)
    length_phone = f"$.metrics.message_length.<key #{list(doc['metrics']['message_length']).index('phone')}>"
    extra = f"$.totals.<key #{list(doc['totals']).index('extra')}>[0]"
    assert {
        (length_phone, "phone"),
        ("$.metrics.heavy_rooms.rooms[0].token", "phone"),
        ("$.window.start", "ssn"),
        (extra, "phone"),
        (extra, "payment_card"),
        ("$.parts.reads", "phone"),
    } <= found
    assert {(length_phone, "schema"), ("$.metrics.heavy_rooms.rooms[0].token", "schema"), ("$.window.start", "schema")} <= found
    assert_no_value_leaks(findings, "14155550132", "4155550132", "123456789", "378282246310005")


def test_every_numeric_schema_field_is_a_count_or_measure() -> None:
    """Numbers at numeric schema positions are judged as measures (only 13-19 digit Luhn-valid
    integers are findings). A new numeric field must be reviewed: if it could ever hold an
    identifier, it must not be a number (identifiers leave production as 16-hex tokens)."""
    names: set[str] = set()

    def walk(schemas, name, root, depth=0):
        for schema in schemas:
            if is_measure([schema]):
                names.add(name)
            if depth < 12:
                for key, sub in (schema.get("properties") or {}).items():
                    walk(_resolve(sub, root), key, root, depth + 1)
                if "items" in schema:
                    walk(_resolve(schema["items"], root), name, root, depth + 1)

    for kind in SCHEMA_FILES:
        root = load_schema(kind)
        walk(_resolve(root, root), "$", root)
    assert names == {
        # totals and mixes: counts of entities
        "users", "active_users", "conversations", "active_conversations", "messages", "participants",
        "attachments", "reads", "direct", "group", "web", "ios", "android", "unknown", "image", "video",
        "audio", "file", "suppressed", "count", "counts", "threshold",
        # distributions: measures in the distribution's unit
        "mean", "min", "max", "p50", "p90", "p95", "p99", "edges", "burst_coefficient",
        # shares and privacy parameters
        "share_of_messages", "share_of_conversations", "share_of_messages_read", "sampled_share",
        "weekday_share", "weekend_share", "min_cell_size", "suppressed_cells", "merged_cells", "epsilon",
        "epsilon_spent", "contribution_bound", "days", "statements_executed", "truncation_hex_chars",
    }


def test_a_valid_packs_numbers_all_stand_at_measure_positions(pack: dict) -> None:
    root = load_schema(PACK_KIND)
    numbers = [(path, measure) for path, role, item, measure in _walk(pack, "$", _resolve(root, root), root)
               if isinstance(item, (int, float)) and not isinstance(item, bool)]
    assert len(numbers) > 1000 and all(measure for _, measure in numbers)


def test_top_level_not_an_object() -> None:
    assert where(validate_document(["jane.doe@example.com"], "pack.json")) >= {("$", "schema"), ("$[0]", "email")}


def test_duplicate_keys_are_findings_and_their_dropped_values_are_scanned(tmp_path: Path, pack: dict) -> None:
    text = json.dumps(pack)
    assert text.startswith('{"schema_version"')
    text = '{"kind": "jane.doe@example.com", ' + text[1:]  # the parser keeps the later, valid kind
    path = tmp_path / "dup.json"
    path.write_text(text)
    found = where(validate_pack_file(path))
    assert found == {("$.kind", "schema"), ("$.kind", "free_string"), ("$.kind", "email")}


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"{not json", "not valid JSON (line 1, column 2)"), (b"\xff\xfe\x00garbage", "not UTF-8"), (b"", "not valid JSON")],
)
def test_unreadable_files_are_one_line_errors(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(UnreadableDocument) as info:
        validate_pack_file(path)
    assert expected in str(info.value) and str(path) in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, SynthError) and info.value.file == str(path)
    assert expected in info.value.reason and str(path) not in info.value.reason and "garbage" not in info.value.reason


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("NaN", "not valid JSON (NaN is not a JSON number)"),
        ("Infinity", "not valid JSON (Infinity is not a JSON number)"),
        ("-Infinity", "not valid JSON (-Infinity is not a JSON number)"),
        ("1e999", "not valid JSON (a number literal beyond the range of a double"),
        ("-1e999", "not valid JSON (a number literal beyond the range of a double"),
        ("9" * 5000, "an integer literal has 5000 digits (at most 4300)"),
        ("-" + "9" * 4301, "an integer literal has 4301 digits (at most 4300)"),
    ],
)
def test_non_json_numbers_are_one_line_errors(tmp_path: Path, pack: dict, value: str, expected: str) -> None:
    text = json.dumps(pack)
    marker = '"mean": ' + json.dumps(pack["metrics"]["message_length"]["mean"])
    assert marker in text
    path = tmp_path / "pack.json"
    path.write_text(text.replace(marker, '"mean": ' + value, 1))
    with pytest.raises(SynthError) as info:
        validate_pack_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {expected}") and "\n" not in message and "9999" not in message


def test_a_long_integer_within_the_limit_is_judged(tmp_path: Path, pack: dict) -> None:
    path = tmp_path / "pack.json"
    doc = copy.deepcopy(pack)
    doc["totals"]["messages"] = 10**4299  # 4300 digits: parsed, and no identifier detector applies
    path.write_text(json.dumps(doc))
    assert validate_pack_file(path) == []


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SynthError, match="cannot read"):
        validate_pack_file(tmp_path / "absent.json")
    with pytest.raises(SynthError, match="is a directory"):
        validate_pack_file(tmp_path)


def test_gate_needs_the_manifest(tmp_path: Path) -> None:
    pack_path = write_pack(tmp_path, "lonely", manifest=False)
    assert where(validate_pack_with_manifest(pack_path)) == {("$", "missing_manifest")}
    assert validate_pack_with_manifest(write_pack(tmp_path, "paired")) == []


def test_gate_passes_a_big_pack_with_its_manifest(tmp_path: Path) -> None:
    assert validate_pack_with_manifest(write_pack(tmp_path, "big", big_pack())) == []


def test_promote_copies_exactly_the_judged_bytes(tmp_path: Path) -> None:
    source = write_pack(tmp_path / "landing", "2026q4")
    dest = tmp_path / "validated" / "2026q4.json"
    outcome = promote_validated_pack(source, dest)
    assert outcome.passed and outcome.pack_path == dest
    assert sha256_file(dest) == sha256_file(source) == outcome.pack_sha256
    assert (tmp_path / "validated" / "2026q4_mapping.json").read_bytes() == (tmp_path / "landing" / "2026q4_mapping.json").read_bytes()


def test_promote_refuses_and_writes_nothing(tmp_path: Path) -> None:
    source = write_pack(tmp_path / "landing", "dirty", planted(valid_pack()))
    outcome = promote_validated_pack(source, tmp_path / "validated" / "dirty.json")
    assert not outcome.passed and outcome.pack_path is None
    assert not (tmp_path / "validated").exists() or not any((tmp_path / "validated").iterdir())
