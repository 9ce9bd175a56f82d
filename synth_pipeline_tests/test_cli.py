"""The CLI entry point: help, version, one-line usage errors with exit 2."""

from __future__ import annotations

import subprocess
import sys

from synth_pipeline import __version__
from synth_pipeline.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "synth_pipeline.cli", *args], capture_output=True, text=True)


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_help_lists_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("demo", "db"):
        assert command in result.stdout


def test_unknown_command_is_one_line_exit_2() -> None:
    result = run_cli("no-such-command")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "invalid choice" in result.stderr


def test_no_command_prints_help_and_exits_2(capsys) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err
