"""The audit log: one JSON object per line, each carrying the sha256 of the previous line.

Location: `.synth/audit.log` (SYNTH_AUDIT_LOG overrides). Every provision, load, teardown and
TTL action appends one entry:

    {"action": "load", "actor": "...", "details": {...}, "prev_sha256": "<64 hex>", "seq": 7,
     "ts": "2026-11-25T11:00:00Z"}

`prev_sha256` is the sha256 of the previous line's bytes (without its newline); the first line
carries 64 zeros. Editing a line breaks the next line's link; deleting a line breaks the link of
the line after it (or the genesis rule for the first line). Deleting the *last* line leaves no
successor to notice, so a small head file beside the log (`audit.log.head`: line count and the
sha256 of the last line, rewritten atomically on every append) catches that. This detects
tampering by anyone who does not recompute the whole chain; it is not a signature.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synth_pipeline.errors import SynthError
from synth_pipeline.fsutil import atomic_write_json
from synth_pipeline.paths import state_dir

AUDIT_LOG_ENV = "SYNTH_AUDIT_LOG"
GENESIS = "0" * 64


def audit_log_path() -> Path:
    override = os.environ.get(AUDIT_LOG_ENV)
    return Path(override) if override else state_dir() / "audit.log"


def head_path(log: Path) -> Path:
    return log.with_name(log.name + ".head")


def _line_sha(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


@contextmanager
def _locked(log: Path) -> Iterator[None]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log.with_name(log.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _last_line(log: Path) -> tuple[int, bytes | None]:
    """(number of lines, last line) of an existing log."""
    if not log.exists():
        return 0, None
    lines = log.read_bytes().splitlines()
    return len(lines), (lines[-1] if lines else None)


def append(action: str, details: dict[str, Any], log: Path | None = None) -> dict[str, Any]:
    """Append one entry (never a password or a DSN with its password: callers pass redacted values)."""
    log = log or audit_log_path()
    with _locked(log):
        count, last = _last_line(log)
        entry = {
            "seq": count + 1,
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "action": action,
            "actor": _actor(),
            "details": details,
            "prev_sha256": _line_sha(last) if last is not None else GENESIS,
        }
        line = json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str).encode()
        with open(log, "ab") as handle:
            handle.write(line + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        atomic_write_json(head_path(log), {"lines": count + 1, "last_sha256": _line_sha(line)})
    return entry


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


@dataclass(frozen=True)
class AuditReport:
    path: Path
    lines: int
    problems: list[str]

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(log: Path | None = None) -> AuditReport:
    """Check the chain and the head record. Unreadable log or head -> SynthError (exit 2)."""
    log = log or audit_log_path()
    try:
        raw = log.read_bytes()
    except OSError as exc:
        raise SynthError(f"cannot read audit log {log}: {exc.strerror}; pass --log FILE or set {AUDIT_LOG_ENV}") from None
    lines = raw.splitlines()
    problems: list[str] = []
    previous = GENESIS
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
            link, seq = entry["prev_sha256"], entry["seq"]
        except (ValueError, TypeError, KeyError):
            problems.append(f"line {number} is not an audit entry")
            previous = _line_sha(line)
            continue
        if link != previous:
            what = "the first line does not start the chain" if number == 1 else f"line {number - 1} was modified or a line before {number} was deleted"
            problems.append(f"line {number}: broken link ({what})")
        if seq != number:
            problems.append(f"line {number}: sequence number {seq} (lines deleted or reordered)")
        previous = _line_sha(line)
    problems += _check_head(log, len(lines), previous)
    return AuditReport(path=log, lines=len(lines), problems=problems)


def _check_head(log: Path, count: int, last_sha: str) -> list[str]:
    head = head_path(log)
    if not head.exists():
        return [f"head record {head.name} is missing"] if count else []
    try:
        doc = json.loads(head.read_bytes())
        expected_lines, expected_sha = int(doc["lines"]), doc["last_sha256"]
    except OSError as exc:
        raise SynthError(f"cannot read audit head record {head}: {exc.strerror}") from None
    except (ValueError, TypeError, KeyError):
        return [f"head record {head.name} is not valid"]
    if count != expected_lines:
        return [f"the log has {count} lines, the head record says {expected_lines} (lines deleted or appended outside the tool)"]
    if count and last_sha != expected_sha:
        return ["the last line was modified (it does not match the head record)"]
    return []
