"""The audit log's hash chain: intact -> 0; a modified, deleted (first, middle or last),
reordered or forged line -> 1; unreadable -> 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synth_pipeline.cli import main
from synth_pipeline.loader import audit


@pytest.fixture
def log(isolated_state: Path) -> Path:
    path = audit.audit_log_path()
    for i in range(5):
        audit.append("load_finished", {"run_id": f"run-{i}", "schema": "synth_x", "status": "COMPLETED"})
    return path


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _verify(path: Path, capsys) -> tuple[int, str]:
    code = main(["audit", "verify", "--log", str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_intact_log_verifies_and_chains_each_line_to_the_previous(log: Path, capsys) -> None:
    code, out = _verify(log, capsys)
    assert code == 0 and "intact (5 entries)" in out
    entries = [json.loads(line) for line in _lines(log)]
    assert entries[0]["prev_sha256"] == audit.GENESIS
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    assert main(["audit", "verify"]) == 0  # SYNTH_AUDIT_LOG is the default


def _modify_middle(lines: list[bytes]) -> list[bytes]:
    lines[2] = lines[2].replace(b"run-2", b"run-X")
    return lines


@pytest.mark.parametrize("tamper, expected", [
    (_modify_middle, "line 4: broken link"),
    (lambda lines: lines[:2] + lines[3:], "line 3: broken link"),
    (lambda lines: lines[1:], "the first line does not start the chain"),
    (lambda lines: lines[:-1], "the head record says 5"),
    (lambda lines: lines[:-1] + [lines[-1].replace(b"run-4", b"run-9")], "the last line was modified"),
    (lambda lines: [lines[1], lines[0], *lines[2:]], "broken link"),
    (lambda lines: lines[:3] + [b"not json\n"] + lines[4:], "line 4 is not an audit entry"),
])
def test_tampering_is_detected(log: Path, capsys, tamper, expected) -> None:
    log.write_bytes(b"".join(tamper(_lines(log))))
    code, out = _verify(log, capsys)
    assert code == 1
    assert expected in out
    assert "tampered" in out


def test_deleting_the_head_record_is_detected(log: Path, capsys) -> None:
    audit.head_path(log).unlink()
    code, out = _verify(log, capsys)
    assert code == 1 and "head record" in out


def test_unreadable_log_is_exit_2(isolated_state: Path, capsys) -> None:
    code, out = _verify(isolated_state / "missing.log", capsys)
    assert code == 2 and "cannot read audit log" in out and out.count("\n") == 1
    directory = isolated_state / "a_directory"
    directory.mkdir()
    assert _verify(directory, capsys)[0] == 2


def test_appending_after_verification_keeps_the_chain(log: Path) -> None:
    audit.append("teardown", {"env": "dev"})
    report = audit.verify(log)
    assert report.intact and report.lines == 6
