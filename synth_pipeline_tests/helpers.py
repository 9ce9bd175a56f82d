"""Small process / network / file helpers shared by test modules."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def file_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under `root`, by path relative to it."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """`python -m synth_pipeline.cli *args` in a subprocess, output captured as text (kwargs go to subprocess.run)."""
    return subprocess.run([sys.executable, "-m", "synth_pipeline.cli", *args], capture_output=True, text=True, **kwargs)


def isolate_state(patch: pytest.MonkeyPatch, root: Path) -> Path:
    """Local state (load registry), secrets and audit log under `root`; no production source set."""
    state = root / "state"
    patch.setenv("SYNTH_STATE_DIR", str(state))
    patch.setenv("SYNTH_SECRETS_DIR", str(root / "secrets"))
    patch.setenv("SYNTH_AUDIT_LOG", str(state / "audit.log"))
    patch.delenv("SYNTH_SOURCE_URL", raising=False)
    patch.delenv("SYNTH_ADMIN_URL", raising=False)
    return root
