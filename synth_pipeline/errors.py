"""Error types shared by every stage.

The CLI contract (DESIGN.md section 5) maps them to exit codes: 1 when a check found a problem,
2 for usage or input errors. Every message must fit on one line and must never contain a
password, a full DSN or a value that could be personal data.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2


class SynthError(Exception):
    """Usage or input error: bad file, bad config, unreachable or unsafe target (exit 2)."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str) -> None:
        # One line, always: callers may interpolate multi-line driver messages.
        super().__init__(" ".join(str(message).split()))


class CheckFailed(SynthError):
    """A check ran and found a problem: PII, broken integrity, low fidelity (exit 1)."""

    exit_code = EXIT_CHECK_FAILED
