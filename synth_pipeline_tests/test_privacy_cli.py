"""`synth-pipeline validate-pii`, run as a real subprocess: exit codes, output forms, and no
planted value on stdout or stderr."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from synth_pipeline_tests.helpers import run_cli
from synth_pipeline_tests.privacy_fixtures import PLANTED, big_pack, planted, valid_pack, write_pack


def validate_pii(*args: str) -> subprocess.CompletedProcess:
    return run_cli("validate-pii", *args)


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("packs")
    clean = write_pack(root, "clean")
    dirty = write_pack(root, "dirty", planted(valid_pack()))
    not_json = root / "broken.json"
    not_json.write_text('{"kind": "synth-pipeline/metrics-pack", "owner": "' + PLANTED["email"])
    big = write_pack(root, "big", big_pack())
    return {"clean": clean, "manifest": root / "clean_mapping.json", "dirty": dirty, "broken": not_json, "big": big}


def assert_nothing_planted(result: subprocess.CompletedProcess) -> None:
    for value in PLANTED.values():
        assert value not in result.stdout and value not in result.stderr
        assert value.replace(" ", "") not in result.stdout + result.stderr


def test_clean_pack_and_manifest_exit_0(packs) -> None:
    result = validate_pii(str(packs["clean"]), str(packs["manifest"]))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "0 finding(s) in 0 file(s); 2 clean, 0 unreadable" in result.stderr


def test_big_pack_with_11_digit_totals_and_25_gb_attachments_exits_0(packs) -> None:
    big = packs["big"]
    result = validate_pii(str(big), str(big.with_name("big_mapping.json")))
    assert result.returncode == 0, result.stdout
    assert result.stdout == ""


def test_planted_pii_exits_1_with_paths_and_never_values(packs) -> None:
    result = validate_pii(str(packs["dirty"]), str(packs["clean"]))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert f"{packs['dirty']}: $.metrics.heavy_rooms.rooms[0].token: email: value looks like an email address" in lines
    assert all(line.startswith(f"{packs['dirty']}: $") for line in lines)
    detectors = {line.split(": ")[2] for line in lines}
    assert {"schema", "free_string", "email", "phone", "payment_card", "person_name"} <= detectors
    assert_nothing_planted(result)


def test_json_output_is_a_machine_readable_list(packs) -> None:
    result = validate_pii("--json", str(packs["dirty"]))
    assert result.returncode == 1
    findings = json.loads(result.stdout)
    assert isinstance(findings, list) and findings
    assert set(findings[0]) == {"file", "json_path", "detector", "message"}
    assert {"file": str(packs["dirty"]), "json_path": "$.metrics.heavy_rooms.rooms[0].token", "detector": "email",
            "message": "value looks like an email address"} in findings
    assert_nothing_planted(result)


def test_clean_json_output_is_an_empty_list(packs) -> None:
    result = validate_pii("--json", str(packs["clean"]))
    assert result.returncode == 0 and json.loads(result.stdout) == []


def test_not_json_exits_2_with_one_line_naming_the_file(packs) -> None:
    result = validate_pii(str(packs["broken"]))
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and str(packs["broken"]) in errors[0] and "not valid JSON" in errors[0]
    assert_nothing_planted(result)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "7" * 5000])
def test_non_json_numbers_exit_2_with_one_line_naming_the_file(tmp_path: Path, value: str) -> None:
    pack = valid_pack()
    pack["metrics"]["message_length"]["mean"] = 0.25
    path = write_pack(tmp_path, "odd")
    path.write_text(json.dumps(pack).replace('"mean": 0.25', '"mean": ' + value, 1))
    result = validate_pii(str(path))
    assert result.returncode == 2 and result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and str(path) in errors[0] and "internal error" not in result.stderr
    assert "not valid JSON" in errors[0] or "an integer literal has 5000 digits" in errors[0]
    assert "7777" not in result.stderr


def test_unreadable_wins_over_findings_and_other_files_are_still_judged(packs, tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    result = validate_pii(str(packs["dirty"]), str(missing))
    assert result.returncode == 2
    assert f"{missing}: cannot read" in result.stderr
    assert f"{packs['dirty']}: $" in result.stdout


def test_json_output_carries_unreadable_files(packs, tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    result = validate_pii("--json", str(packs["broken"]), str(packs["clean"]), str(missing), str(packs["dirty"]))
    assert result.returncode == 2
    entries = json.loads(result.stdout)
    assert all(set(e) == {"file", "json_path", "detector", "message"} for e in entries)
    unreadable = [e for e in entries if e["detector"] == "unreadable"]
    assert [(e["file"], e["json_path"]) for e in unreadable] == [(str(packs["broken"]), "$"), (str(missing), "$")]
    assert unreadable[0]["message"].startswith("not valid JSON (line 1, column ")
    assert unreadable[1]["message"].startswith("cannot read (")
    assert str(packs["broken"]) not in unreadable[0]["message"]  # the file is named once, in "file"
    assert entries[0] == unreadable[0] and entries[1] == unreadable[1]  # argument order
    assert {e["file"] for e in entries} == {str(packs["broken"]), str(missing), str(packs["dirty"])}
    # stderr: exactly one line per unreadable file, each naming it
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and all(line.startswith("synth-pipeline validate-pii: error: ") for line in errors)
    assert str(packs["broken"]) in errors[0] and str(missing) in errors[1]
    assert_nothing_planted(result)


def test_json_output_of_only_unreadable_files_is_not_empty(packs) -> None:
    result = validate_pii("--json", str(packs["broken"]))
    assert result.returncode == 2
    assert [e["detector"] for e in json.loads(result.stdout)] == ["unreadable"]
    assert len(result.stderr.strip().splitlines()) == 1


def test_text_output_keeps_one_stderr_line_per_problem(packs, tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    result = validate_pii(str(packs["broken"]), str(missing), str(packs["clean"]))
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3  # two errors, then the summary
    assert str(packs["broken"]) in lines[0] and str(missing) in lines[1]
    assert lines[2] == "0 finding(s) in 0 file(s); 1 clean, 2 unreadable"


def test_no_file_is_a_usage_error() -> None:
    result = validate_pii()
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
