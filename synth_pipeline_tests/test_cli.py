"""The CLI entry point: help, version, one-line usage errors with exit 2."""

from __future__ import annotations

import re

import pytest

from synth_pipeline import __version__
from synth_pipeline.cli import main
from synth_pipeline_tests.helpers import isolate_state
from synth_pipeline_tests.helpers import run_cli


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_help_lists_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    # DESIGN.md section 5's commands, plus the operator helpers (db, ui, demo, fake-production, audit).
    commands = ("sample", "validate-pii", "dataset-quality", "calibrate", "generate", "provision", "load",
                "verify", "ttl-check", "teardown", "audit", "fidelity", "baselines", "fake-production",
                "demo", "db", "ui")
    listed = [line.split()[0] for line in result.stdout.splitlines() if re.match(r"^    [a-z]", line)]
    assert sorted(listed) == sorted(commands)
    for command in commands:
        sub = run_cli(command, "--help")
        assert sub.returncode == 0 and "usage:" in sub.stdout, f"{command} --help"


def test_unknown_command_is_one_line_exit_2() -> None:
    result = run_cli("no-such-command")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "invalid choice" in result.stderr


def test_no_command_prints_help_and_exits_2(capsys) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


# libpq quotes the malformed token of a DSN in its parse error: a bare '%' in a password.
LEAKY_URL = "postgresql://alice:50%off@127.0.0.1:1/nowhere"


@pytest.mark.parametrize("argv", [
    ["verify", "--target-url", LEAKY_URL, "--schema", "synth_x"],
    ["teardown", "--target-url", LEAKY_URL, "--schema", "synth_x", "--confirm", "synth_x"],
    ["dataset-quality", "--target-url", LEAKY_URL, "--schema", "synth_x"],
    ["fake-production", "--target-url", LEAKY_URL, "--messages", "1000"],
    ["provision", "--env", "dev", "--admin-url", LEAKY_URL],
    ["sample", "--source-url", LEAKY_URL, "--out", "never-written.json"],
], ids=lambda argv: argv[0])
def test_malformed_url_is_a_one_line_input_error_without_the_password(argv, capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANONYMIZATION_SALT", "cli-test-salt-0123456789")
    isolate_state(monkeypatch, tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "50%off" not in err
    assert "internal error" not in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())  # nothing written


def test_db_url_never_prints_a_password(monkeypatch, capsys) -> None:
    monkeypatch.setenv("SYNTH_DATABASE_URL", "postgresql://alice:s3cret@db.example:5432/chat")
    assert main(["db", "url"]) == 0
    out = capsys.readouterr().out
    assert "s3cret" not in out and "alice:***@db.example:5432/chat" in out
